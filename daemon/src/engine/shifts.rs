//! Shift patterns: weekly time windows in the property's time zone, with dated exceptions per person. Pure.
