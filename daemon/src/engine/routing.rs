//! Routing rules: the ordered rule set that decides a ticket's department, priority, SLA policy and skill. Pure.
