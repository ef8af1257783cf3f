//! Shift patterns: weekly time windows in the property's time zone, with dated exceptions per person. Pure.
//!
//! Everything here works on local civil times that the caller has already converted from UTC in the property's
//! time zone. A local time that a DST change skips simply never arrives, and one it repeats arrives twice; the
//! windows need no special cases for either.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time, Weekday};

/// A daily window of local time, `[start, end)`.
///
/// When `end <= start` the window runs past midnight into the next day; `start == end` is a whole day (24 hours
/// from `start`). An `end` of 00:00 means the window ends at midnight and is written `24:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// The first local time inside the window.
    pub start: Time,
    /// The first local time after the window.
    pub end: Time,
}

impl Window {
    /// Parses `HH:MM-HH:MM` (`24:00` is allowed as the end). An end earlier than the start crosses midnight;
    /// equal ends are refused, except `00:00-24:00` for the whole day.
    pub fn parse(text: &str) -> Result<Window, String> {
        let (start, end) = text.split_once('-').ok_or_else(|| format!("{text:?} is not a window like 07:00-15:00"))?;
        let start = parse_hhmm(start.trim(), false).map_err(|e| format!("{text:?}: {e}"))?;
        let end_text = end.trim();
        let end = parse_hhmm(end_text, true).map_err(|e| format!("{text:?}: {e}"))?;
        if start == end && end_text != "24:00" {
            return Err(format!("{text:?} starts and ends at the same time"));
        }
        Ok(Window { start, end })
    }

    /// Whether part of the window falls on the day after it starts.
    pub fn crosses_midnight(&self) -> bool {
        self.end != Time::midnight() && self.end <= self.start
    }

    /// Whether `t` is inside the window: at or after `start` and before `end`.
    pub fn contains(&self, t: Time) -> bool {
        if self.start == self.end {
            true
        } else if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            self.start <= t || t < self.end
        }
    }

    /// The date on which the occurrence of the window that contains `at` started, or `None` when `at` is outside.
    /// For a window crossing midnight, times after midnight belong to the previous day's occurrence.
    pub fn started_on(&self, at: DateTime) -> Option<Date> {
        let t = at.time();
        if !self.contains(t) {
            return None;
        }
        if self.crosses_midnight() && t < self.end {
            at.date().yesterday().ok()
        } else {
            Some(at.date())
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hhmm(f, self.start)?;
        f.write_str("-")?;
        if self.end == Time::midnight() {
            f.write_str("24:00")
        } else {
            write_hhmm(f, self.end)
        }
    }
}

impl FromStr for Window {
    type Err = String;

    fn from_str(s: &str) -> Result<Window, String> {
        Window::parse(s)
    }
}

impl serde::Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Window, D::Error> {
        let text = String::deserialize(deserializer)?;
        Window::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses a weekday: `mon` … `sun` or the full English name, in any case.
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    let lower = text.trim().to_ascii_lowercase();
    WEEKDAYS.iter().find(|(_, name)| lower == name[..3] || lower == *name).map(|(day, _)| *day)
}

/// The English name of a weekday, capitalised (`Friday`).
pub fn weekday_name(day: Weekday) -> &'static str {
    const CAPITALISED: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    CAPITALISED[usize::from(day.to_monday_zero_offset().unsigned_abs())]
}

/// A named weekly shift: a window on some days of the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftPattern {
    /// Its name, as routing rules and rosters refer to it (`night`).
    pub name: String,
    /// The days on which the shift starts; every day when empty.
    pub days: Vec<Weekday>,
    /// The local hours.
    pub window: Window,
}

impl ShiftPattern {
    /// Whether the shift is on at `at`. A shift crossing midnight belongs to the day it starts: a Friday 22:00-06:00
    /// shift covers Saturday 02:00 and not Friday 02:00.
    pub fn covers(&self, at: DateTime) -> bool {
        self.window.started_on(at).is_some_and(|day| self.on(day))
    }

    /// Whether the shift starts on `day` (ignoring the time).
    fn on(&self, day: Date) -> bool {
        self.days.is_empty() || self.days.contains(&day.weekday())
    }
}

/// One person's working time: weekly shift patterns with dated exceptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    /// The weekly shifts.
    pub patterns: Vec<ShiftPattern>,
    /// Exceptions by date: `Some(window)` works that window instead of the weekly shifts starting that date,
    /// `None` is off that date. An exception on a date governs the shifts that start on it, so a night shift that
    /// began the evening before is not cut short.
    pub exceptions: BTreeMap<Date, Option<Window>>,
}

impl Schedule {
    /// Whether the person is on shift at `at`.
    pub fn covers(&self, at: DateTime) -> bool {
        // A window lasts at most a day, so only shifts starting today or yesterday can cover `at`.
        let today = at.date();
        [Some(today), today.yesterday().ok()].into_iter().flatten().any(|day| self.covers_from(day, at))
    }

    /// Whether a shift that starts on `day` covers `at`.
    fn covers_from(&self, day: Date, at: DateTime) -> bool {
        match self.exceptions.get(&day) {
            Some(Some(window)) => window.started_on(at) == Some(day),
            Some(None) => false,
            None => self.patterns.iter().any(|p| p.on(day) && p.window.started_on(at) == Some(day)),
        }
    }
}

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "monday"),
    (Weekday::Tuesday, "tuesday"),
    (Weekday::Wednesday, "wednesday"),
    (Weekday::Thursday, "thursday"),
    (Weekday::Friday, "friday"),
    (Weekday::Saturday, "saturday"),
    (Weekday::Sunday, "sunday"),
];

/// Parses `HH:MM`, two digits each; `24:00` only when `end` (it comes back as 00:00).
fn parse_hhmm(text: &str, end: bool) -> Result<Time, String> {
    let bad = || format!("{text:?} is not a time like 07:30");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if (h, m) == (24, 0) {
        return if end { Ok(Time::midnight()) } else { Err("24:00 may only end a window".into()) };
    }
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// Writes `HH:MM`.
fn write_hhmm(f: &mut fmt::Formatter<'_>, t: Time) -> fmt::Result {
    write!(f, "{:02}:{:02}", t.hour(), t.minute())
}

/// Formats a local time as `HH:MM`, as explanations show it.
pub(crate) fn hhmm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn w(text: &str) -> Window {
        Window::parse(text).unwrap()
    }

    /// 2025-06-06 is a Friday.
    fn at(day: i8, h: i8, m: i8) -> DateTime {
        date(2025, 6, day).at(h, m, 0, 0)
    }

    #[test]
    fn windows_parse() {
        let cases = [
            ("07:00-15:00", time(7, 0, 0, 0), time(15, 0, 0, 0), false),
            ("22:00-06:00", time(22, 0, 0, 0), time(6, 0, 0, 0), true),
            ("22:00-24:00", time(22, 0, 0, 0), Time::midnight(), false),
            ("00:00-24:00", Time::midnight(), Time::midnight(), false),
            (" 09:30 - 10:45 ", time(9, 30, 0, 0), time(10, 45, 0, 0), false),
        ];
        for (text, start, end, crosses) in cases {
            let got = Window::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((got.start, got.end, got.crosses_midnight()), (start, end, crosses), "{text}");
        }
        assert_eq!(w("22:00-24:00").to_string(), "22:00-24:00");
        assert_eq!(w("23:00-00:00").to_string(), "23:00-24:00", "ending at 00:00 is ending at midnight");
        assert_eq!(w("07:05-15:00").to_string(), "07:05-15:00");
    }

    #[test]
    fn bad_windows_are_refused() {
        for text in [
            "",
            "07:00",
            "07:00-07:00",
            "24:00-06:00",
            "7:00-15:00",
            "07:60-08:00",
            "25:00-26:00",
            "07:00-24:30",
            "a-b",
        ] {
            assert!(Window::parse(text).is_err(), "{text:?} should be refused");
        }
        assert!(Window::parse("07:00-07:00").unwrap_err().contains("same time"));
    }

    #[test]
    fn contains_is_half_open() {
        let cases = [
            ("07:00-15:00", (7, 0), true),
            ("07:00-15:00", (14, 59), true),
            ("07:00-15:00", (15, 0), false),
            ("07:00-15:00", (6, 59), false),
            ("23:00-07:00", (23, 30), true),
            ("23:00-07:00", (3, 0), true),
            ("23:00-07:00", (7, 0), false),
            ("23:00-07:00", (12, 0), false),
            ("22:00-24:00", (23, 59), true),
            ("22:00-24:00", (0, 0), false),
            ("00:00-24:00", (0, 0), true),
            ("00:00-24:00", (23, 59), true),
        ];
        for (text, (h, m), want) in cases {
            assert_eq!(w(text).contains(time(h, m, 0, 0)), want, "{text} at {h:02}:{m:02}");
        }
        assert!(!w("07:00-15:00").contains(time(6, 59, 59, 999_999_999)));
    }

    #[test]
    fn weekdays_parse() {
        let cases = [
            ("mon", Some(Weekday::Monday)),
            ("Fri", Some(Weekday::Friday)),
            ("SATURDAY", Some(Weekday::Saturday)),
            ("sunday", Some(Weekday::Sunday)),
            ("thu", Some(Weekday::Thursday)),
            ("thurs", None),
            ("", None),
            ("moon", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_weekday(text), want, "{text:?}");
        }
        assert_eq!(weekday_name(Weekday::Sunday), "Sunday");
        assert_eq!(weekday_name(Weekday::Monday), "Monday");
    }

    #[test]
    fn an_overnight_shift_belongs_to_the_day_it_starts() {
        let friday_night = ShiftPattern { name: "night".into(), days: vec![Weekday::Friday], window: w("22:00-06:00") };
        let cases = [
            (at(6, 22, 0), true, "Friday 22:00"),
            (at(7, 2, 0), true, "Saturday 02:00"),
            (at(6, 2, 0), false, "Friday 02:00 is Thursday's night"),
            (at(7, 6, 0), false, "Saturday 06:00, the end"),
            (at(7, 22, 0), false, "Saturday 22:00"),
        ];
        for (when, want, name) in cases {
            assert_eq!(friday_night.covers(when), want, "{name}");
        }
        let every_day = ShiftPattern { days: vec![], ..friday_night };
        assert!(every_day.covers(at(6, 2, 0)) && every_day.covers(at(10, 23, 0)));
    }

    #[test]
    fn exceptions_govern_the_shifts_that_start_on_their_date() {
        let mut schedule = Schedule {
            patterns: vec![
                ShiftPattern { name: "day".into(), days: vec![Weekday::Saturday], window: w("07:00-15:00") },
                ShiftPattern { name: "night".into(), days: vec![Weekday::Friday], window: w("22:00-06:00") },
            ],
            exceptions: BTreeMap::new(),
        };
        assert!(schedule.covers(at(7, 2, 0)) && schedule.covers(at(7, 8, 0)));
        assert!(!schedule.covers(at(7, 6, 30)));

        // Off on Saturday: the Friday night shift still runs into Saturday morning; the Saturday day shift is gone.
        schedule.exceptions.insert(date(2025, 6, 7), None);
        assert!(schedule.covers(at(7, 2, 0)), "Friday's night shift is governed by Friday");
        assert!(!schedule.covers(at(7, 8, 0)), "Saturday is off");

        // Off on Friday: the night shift never starts, even its Saturday hours.
        schedule.exceptions.insert(date(2025, 6, 6), None);
        assert!(!schedule.covers(at(6, 23, 0)) && !schedule.covers(at(7, 2, 0)));

        // Working a late window instead on Saturday, crossing into Sunday.
        schedule.exceptions.insert(date(2025, 6, 7), Some(w("18:00-02:00")));
        let cases = [(at(7, 8, 0), false), (at(7, 18, 0), true), (at(8, 1, 59), true), (at(8, 2, 0), false)];
        for (when, want) in cases {
            assert_eq!(schedule.covers(when), want, "{when}");
        }
    }

    #[test]
    fn a_repeated_hour_is_covered_twice_and_a_skipped_one_never() {
        use jiff::{tz::TimeZone, Timestamp, ToSpan};
        let lisbon = TimeZone::get("Europe/Lisbon").unwrap();
        let night = Schedule {
            patterns: vec![ShiftPattern { name: "small hours".into(), days: vec![], window: w("00:30-01:30") }],
            exceptions: BTreeMap::new(),
        };
        // Minutes of real time covered in the 24 hours from noon UTC the day before, sampled every minute.
        let covered = |noon_before: &str| {
            let start: Timestamp = format!("{noon_before}T12:00:00Z").parse().unwrap();
            (0..24 * 60)
                .filter(|m| night.covers(start.checked_add(m.minutes()).unwrap().to_zoned(lisbon.clone()).datetime()))
                .count()
        };
        assert_eq!(covered("2025-03-28"), 60, "an ordinary day");
        // Lisbon springs forward at 01:00 local: 01:00-02:00 does not occur, so only 00:30-01:00 is worked.
        assert_eq!(covered("2025-03-29"), 30, "spring forward");
        // Lisbon falls back at 02:00 local to 01:00: 01:00-01:30 happens twice.
        assert_eq!(covered("2025-10-25"), 90, "fall back");
    }
}
