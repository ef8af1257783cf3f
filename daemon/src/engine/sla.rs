//! The SLA clock of one ticket: targets, pauses, flags and escalation levels on business time. Pure.
