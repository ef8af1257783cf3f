//! Assignment: which member of staff on duty takes a ticket, and why the others did not. Pure.
