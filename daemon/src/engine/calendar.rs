//! Business calendars: opening hours per weekday, holidays and the time zone, and time counted inside them. Pure.
