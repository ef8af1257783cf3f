//! Business calendars: opening hours per weekday, holidays and the time zone, and time counted inside them. Pure.
//!
//! A [`Calendar`] says when a department's SLA clock runs. Openings are written in local civil time and turned into
//! instants one local day at a time by `jiff`, so DST and zones whose clocks change at midnight (America/Santiago)
//! need no special cases here: we never assume that a day lasts 24 hours or starts at 00:00.
//!
//! Durations are whole milliseconds. Instants are taken to the millisecond (a finer part is dropped toward the past);
//! openings always fall on whole seconds, so all counting is exact.

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// How many local days [`Calendar::add_ms`] and [`Calendar::next_opening`] walk before giving up (about 11 years), so
/// that years of holidays can never hang the engine.
pub const MAX_DAYS: i64 = 4000;

const DAY_MS: i64 = 86_400_000;
const DAY_NANOS: i64 = DAY_MS * 1_000_000;
const DAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// When an [`Opening`] ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpeningEnd {
    /// At this local time: the same day when after the start, otherwise the next day (the opening crosses midnight).
    At(Time),
    /// At the end of the opening's day, written "24:00": the first instant of the next local day, whenever that is.
    EndOfDay,
}

/// One opening of a weekday, in local time, from `start` to `end`.
///
/// An `end` before `start` crosses midnight into the next day; the opening belongs to the day it starts, so a holiday
/// on the next day does not cut it short. An `end` equal to `start` is zero-length and rejected by [`Calendar::new`]
/// (write "24h" for a whole day).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// The local time the opening starts.
    pub start: Time,
    /// When the opening ends.
    pub end: OpeningEnd,
}

impl Opening {
    /// Where the opening lies on the local clock, as nanoseconds from 00:00 of its day; the end may pass midnight, and
    /// equals the start only for a zero-length opening.
    fn clock_span(&self) -> (i64, i64) {
        let start = nanos_of_day(self.start);
        let end = match self.end {
            OpeningEnd::EndOfDay => DAY_NANOS,
            OpeningEnd::At(t) if nanos_of_day(t) < start => nanos_of_day(t) + DAY_NANOS,
            OpeningEnd::At(t) => nanos_of_day(t),
        };
        (start, end)
    }
}

impl fmt::Display for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            OpeningEnd::EndOfDay => write!(f, "{}-24:00", clock(self.start)),
            OpeningEnd::At(end) => write!(f, "{}-{}", clock(self.start), clock(end)),
        }
    }
}

/// Parses one weekday's openings: `"08:00-12:00, 14:00-18:00"` (a split shift), `"22:00-06:00"` (crosses midnight),
/// `"00:00-24:00"` or `"24h"` (the whole day), `"closed"` or `""` (nothing). An end of `00:00` means `24:00`.
pub fn parse_openings(text: &str) -> Result<Vec<Opening>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    if text.eq_ignore_ascii_case("24h") {
        return Ok(vec![Opening { start: Time::midnight(), end: OpeningEnd::EndOfDay }]);
    }
    text.split(',').map(|part| parse_opening(part.trim())).collect()
}

/// Parses one `HH:MM-HH:MM`.
fn parse_opening(part: &str) -> Result<Opening, String> {
    let not_a_range = || format!("\"{part}\" is not HH:MM-HH:MM");
    let (start, end) = part.split_once('-').ok_or_else(not_a_range)?;
    let (start, end) = (parse_clock(start).ok_or_else(not_a_range)?, parse_clock(end).ok_or_else(not_a_range)?);
    let OpeningEnd::At(start) = start else {
        return Err(format!("\"{part}\" starts at 24:00; an opening can only end there"));
    };
    let end = match end {
        OpeningEnd::At(t) if t == Time::midnight() => OpeningEnd::EndOfDay,
        end => end,
    };
    let opening = Opening { start, end };
    let (s, e) = opening.clock_span();
    if s == e {
        return Err(format!("\"{part}\" ends when it starts (write \"24h\" for the whole day)"));
    }
    Ok(opening)
}

/// Parses `HH:MM` (the hour may have one digit) from 00:00 to 24:00; 24:00 is [`OpeningEnd::EndOfDay`].
fn parse_clock(text: &str) -> Option<OpeningEnd> {
    let (h, m) = text.trim().split_once(':')?;
    let digits =
        |s: &str, len: std::ops::RangeInclusive<usize>| len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, 1..=2) || !digits(m, 2..=2) {
        return None;
    }
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    if (h, m) == (24, 0) {
        return Some(OpeningEnd::EndOfDay);
    }
    Time::new(h, m, 0, 0).ok().map(OpeningEnd::At)
}

/// When a department's time counts: openings per weekday in a time zone, minus holidays.
///
/// Holidays are local dates on which no opening starts; an overnight opening that started the day before still runs
/// past midnight into the holiday. Local times become instants with `jiff`'s "compatible" rule: a time inside a
/// spring-forward gap moves later by the gap, a time in a fall-back fold takes the earlier instant.
#[derive(Clone, Debug)]
pub struct Calendar {
    /// The zone in which openings and holidays are read.
    tz: TimeZone,
    /// Openings per weekday, Monday first, each day's sorted by start (so an overnight opening comes last).
    week: [Vec<Opening>; 7],
    /// Local dates on which no opening starts.
    holidays: BTreeSet<Date>,
    /// Open at every instant, whatever the zone: counting is subtraction.
    always: bool,
}

impl Calendar {
    /// What counting depends on, in a stable form for fingerprints: the zone's IANA name, each weekday's openings as
    /// nanoseconds from local midnight (Monday first), the holidays, and whether it is always open.
    pub fn settings(&self) -> serde_json::Value {
        let week: Vec<Vec<(i64, i64)>> =
            self.week.iter().map(|day| day.iter().map(Opening::clock_span).collect()).collect();
        let holidays: Vec<String> = self.holidays.iter().map(ToString::to_string).collect();
        serde_json::json!({
            "time_zone": self.tz.iana_name(),
            "always": self.always,
            "week": week,
            "holidays": holidays,
        })
    }

    /// A calendar open 24/7, the default for every department.
    pub fn always() -> Calendar {
        let whole_day = || vec![Opening { start: Time::midnight(), end: OpeningEnd::EndOfDay }];
        Calendar {
            tz: TimeZone::UTC,
            week: std::array::from_fn(|_| whole_day()),
            holidays: BTreeSet::new(),
            always: true,
        }
    }

    /// A calendar from the openings of each weekday (Monday first) in `tz`, minus `holidays`. Rejects zero-length
    /// openings, openings that overlap (an overnight one included, even Sunday's into Monday) and a week with no
    /// opening at all.
    pub fn new(tz: TimeZone, mut week: [Vec<Opening>; 7], holidays: BTreeSet<Date>) -> Result<Calendar, String> {
        // Each opening on a two-week local clock, so that Sunday's overnight opening meets Monday's.
        let mut spans = Vec::new();
        for (day, openings) in week.iter().enumerate() {
            for opening in openings {
                let (start, end) = opening.clock_span();
                if start == end {
                    return Err(format!("{} {opening} ends when it starts", DAY_NAMES[day]));
                }
                for base in [day as i64 * DAY_NANOS, (day as i64 + 7) * DAY_NANOS] {
                    spans.push((base + start, base + end, day, opening));
                }
            }
        }
        if spans.is_empty() {
            return Err("an empty calendar: no day has an opening, so it would never be open".to_string());
        }
        spans.sort_by_key(|span| span.0);
        for pair in spans.windows(2) {
            let ((_, end, day_a, a), (start, _, day_b, b)) = (pair[0], pair[1]);
            if start < end {
                return Err(format!("openings overlap: {} {a} and {} {b}", DAY_NAMES[day_a], DAY_NAMES[day_b]));
            }
        }
        for openings in &mut week {
            openings.sort_by_key(|opening| opening.start);
        }
        let whole_day = |o: &Opening| o.clock_span() == (0, DAY_NANOS);
        let always = holidays.is_empty() && week.iter().all(|day| matches!(day.as_slice(), [o] if whole_day(o)));
        Ok(Calendar { tz, week, holidays, always })
    }

    /// Whether the calendar is open at every instant (then every question is answered without walking days).
    pub fn is_always_open(&self) -> bool {
        self.always
    }

    /// Whether `at` falls inside an opening (openings include their start and exclude their end).
    pub fn is_open(&self, at: Timestamp) -> bool {
        if self.always {
            return true;
        }
        let at = floor_ms(at);
        self.spans(at, 1).take_while(|&(start, _)| start <= at).any(|(_, end)| at < end)
    }

    /// Milliseconds of `[from, to)` that fall inside openings; 0 when `to <= from`.
    pub fn open_ms(&self, from: Timestamp, to: Timestamp) -> i64 {
        let (from, to) = (floor_ms(from), floor_ms(to));
        if to <= from {
            return 0;
        }
        if self.always {
            return to - from;
        }
        self.spans(from, (to - from) / DAY_MS + 1)
            .take_while(|&(start, _)| start < to)
            .map(|(start, end)| (end.min(to) - start.max(from)).max(0))
            .sum()
    }

    /// The earliest instant `t >= from` with `open_ms(from, t) == ms`: a deadline `ms` of open time after `from`. A
    /// deadline that uses up an opening exactly is that opening's end, not the next opening's start. `ms <= 0` gives
    /// `from`; a deadline more than [`MAX_DAYS`] local days ahead gives [`Timestamp::MAX`].
    pub fn add_ms(&self, from: Timestamp, ms: i64) -> Timestamp {
        if ms <= 0 {
            return from;
        }
        let from = floor_ms(from);
        if self.always {
            return timestamp(from.saturating_add(ms));
        }
        let mut left = ms;
        for (start, end) in self.spans(from, MAX_DAYS) {
            let start = start.max(from);
            if end <= start {
                continue;
            }
            if left <= end - start {
                return timestamp(start + left);
            }
            left -= end - start;
        }
        Timestamp::MAX
    }

    /// The first open instant at or after `at`: `at` itself when open, `None` when nothing opens within [`MAX_DAYS`]
    /// local days.
    pub fn next_opening(&self, at: Timestamp) -> Option<Timestamp> {
        if self.always {
            return Some(at);
        }
        let ms = floor_ms(at);
        let (start, _) = self.spans(ms, MAX_DAYS).find(|&(_, end)| end > ms)?;
        Some(if start <= ms { at } else { timestamp(start) })
    }

    /// The openings as `[start, end)` milliseconds, in order and disjoint, from those starting two local days before
    /// the date of `from` (an overnight one may still be running) through those starting `days` days after it. Ends
    /// early at the edge of `jiff`'s range.
    fn spans(&self, from: i64, days: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first = self.tz.to_datetime(timestamp(from)).date().saturating_sub(2.days());
        let days = std::iter::successors(Some(first), |day| day.tomorrow().ok()).take((days + 3) as usize);
        let mut last_end = i64::MIN;
        days.map_while(|day| self.day_spans(day)).flatten().filter_map(move |(start, end)| {
            // A gap can map a later local time to an earlier instant (02:30 -> 03:30 but 03:00 -> 03:00), so clip
            // each span to start after the previous one: no time is counted twice.
            let start = start.max(last_end);
            (end > start).then(|| {
                last_end = end;
                (start, end)
            })
        })
    }

    /// The openings that start on the local date `day` as `[start, end)` milliseconds, by start.
    fn day_spans(&self, day: Date) -> Option<Vec<(i64, i64)>> {
        if self.holidays.contains(&day) {
            return Some(Vec::new());
        }
        let next = day.tomorrow().ok()?;
        let instant = |date: Date, time: Time| self.tz.to_timestamp(date.to_datetime(time)).ok().map(floor_ms);
        let openings = &self.week[day.weekday().to_monday_zero_offset() as usize];
        openings
            .iter()
            .map(|opening| {
                let start = instant(day, opening.start)?;
                let end = match opening.end {
                    // The zone says when the next day starts: not always 24 h later, nor always at 00:00.
                    OpeningEnd::EndOfDay => {
                        floor_ms(next.to_zoned(self.tz.clone()).ok()?.start_of_day().ok()?.timestamp())
                    }
                    OpeningEnd::At(time) if time > opening.start => instant(day, time)?,
                    OpeningEnd::At(time) => instant(next, time)?,
                };
                Some((start, end))
            })
            .collect()
    }
}

/// Nanoseconds since 00:00 on the local clock.
fn nanos_of_day(t: Time) -> i64 {
    let seconds = i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second());
    seconds * 1_000_000_000 + i64::from(t.subsec_nanosecond())
}

/// `HH:MM`, or the full time when it has seconds.
fn clock(t: Time) -> String {
    if t.second() == 0 && t.subsec_nanosecond() == 0 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        t.to_string()
    }
}

/// Milliseconds since the Unix epoch, rounded toward the past.
fn floor_ms(t: Timestamp) -> i64 {
    t.as_nanosecond().div_euclid(1_000_000) as i64
}

/// The instant `ms` after the Unix epoch, clamped to `jiff`'s range.
fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

impl crate::engine::sla::Hours for Calendar {
    fn open_ms(&self, from: Timestamp, to: Timestamp) -> i64 {
        Calendar::open_ms(self, from, to)
    }

    fn add_ms(&self, from: Timestamp, ms: i64) -> Timestamp {
        Calendar::add_ms(self, from, ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time, DateTime};
    use proptest::prelude::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const OFFICE: [&str; 7] = ["08:00-18:00", "08:00-18:00", "08:00-18:00", "08:00-18:00", "08:00-18:00", "", ""];
    const SPLIT: [&str; 7] = ["08:00-12:00, 14:00-18:00"; 7];
    const NIGHTS: [&str; 7] = ["22:00-06:00"; 7];
    const LONDON: &str = "Europe/London";
    const SANTIAGO: &str = "America/Santiago";

    fn calendar(tz: &str, week: [&str; 7], holidays: &[Date]) -> Calendar {
        let week = week.map(|text| parse_openings(text).unwrap());
        Calendar::new(TimeZone::get(tz).unwrap(), week, holidays.iter().copied().collect()).unwrap()
    }

    /// The week closed except for one day (Monday = 0).
    fn only(day: usize, text: &'static str) -> [&'static str; 7] {
        std::array::from_fn(|d| if d == day { text } else { "closed" })
    }

    /// The instant of a local civil time such as "2024-06-07T19:00" in `tz`.
    fn local(tz: &str, civil: &str) -> Timestamp {
        TimeZone::get(tz).unwrap().to_timestamp(civil.parse::<DateTime>().unwrap()).unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn opening(start: Time, end: OpeningEnd) -> Opening {
        Opening { start, end }
    }

    /// Zone, week, holidays, local start, open time to spend, local deadline.
    type Deadline<'a> = (&'a str, [&'a str; 7], &'a [Date], &'a str, i64, &'a str);

    #[test]
    fn deadlines_count_only_open_time() {
        let weekdays_24h = OFFICE.map(|day| if day.is_empty() { day } else { "24h" });
        let nine_to_five = OFFICE.map(|day| if day.is_empty() { day } else { "09:00-17:00" });
        let wednesday = [date(2024, 6, 5)];
        #[rustfmt::skip]
        let cases: &[Deadline] = &[
            // Raised Friday evening: counting starts Monday 08:00.
            (LONDON, OFFICE, &[], "2024-06-07T19:00", 30 * MIN, "2024-06-10T08:30"),
            // Crossing into the next day lands inside hours, never at midnight.
            (LONDON, OFFICE, &[], "2024-06-04T17:30", HOUR, "2024-06-05T08:30"),
            // Using up an opening exactly lands at its end.
            (LONDON, OFFICE, &[], "2024-06-04T17:00", HOUR, "2024-06-04T18:00"),
            (LONDON, OFFICE, &[], "2024-06-03T08:00", 50 * HOUR, "2024-06-07T18:00"),
            (LONDON, OFFICE, &[], "2024-06-03T08:00", 50 * HOUR + MIN, "2024-06-10T08:01"),
            (LONDON, OFFICE, &[date(2024, 6, 10)], "2024-06-07T17:00", 2 * HOUR, "2024-06-11T09:00"),
            // Twenty working days of eight hours: a month ahead.
            (LONDON, nine_to_five, &[], "2024-06-03T09:00", 20 * 8 * HOUR, "2024-06-28T17:00"),
            (LONDON, SPLIT, &[], "2024-06-04T11:30", HOUR, "2024-06-04T14:30"),
            (LONDON, SPLIT, &[], "2024-06-04T11:00", HOUR, "2024-06-04T12:00"),
            (LONDON, SPLIT, &[], "2024-06-04T12:30", 5 * HOUR, "2024-06-05T09:00"),
            (LONDON, NIGHTS, &[], "2024-06-04T05:30", HOUR, "2024-06-04T22:30"),
            (LONDON, NIGHTS, &[], "2024-06-04T23:00", 7 * HOUR, "2024-06-05T06:00"),
            // Tuesday night runs into Wednesday, a holiday; Wednesday night does not start.
            (LONDON, NIGHTS, &wednesday, "2024-06-04T23:00", 8 * HOUR, "2024-06-06T23:00"),
            (LONDON, ["24h"; 7], &[], "2024-06-04T12:00", 36 * HOUR, "2024-06-06T00:00"),
            (LONDON, ["24h"; 7], &wednesday, "2024-06-04T12:00", 24 * HOUR, "2024-06-06T12:00"),
            (LONDON, weekdays_24h, &[], "2024-06-07T12:00", 24 * HOUR, "2024-06-10T12:00"),
        ];
        for &(tz, week, holidays, from, ms, due) in cases {
            let cal = calendar(tz, week, holidays);
            let (from, due) = (local(tz, from), local(tz, due));
            assert_eq!(cal.add_ms(from, ms), due, "{week:?} from {from} + {ms} ms");
            assert_eq!(cal.open_ms(from, due), ms, "{week:?} from {from} to {due}");
            assert!(cal.is_open(just_before(due)), "{week:?} just before {due}");
        }
    }

    /// The last millisecond before `t`.
    fn just_before(t: Timestamp) -> Timestamp {
        timestamp(floor_ms(t) - 1)
    }

    #[test]
    fn half_hour_zones_count_in_their_own_hours() {
        #[rustfmt::skip]
        let cases = [
            // 18:15 IST on a Friday: Monday 08:00 IST is 02:30 UTC.
            ("Asia/Kolkata", "2024-06-07T12:45:00Z", 30 * MIN, "2024-06-10T03:00:00Z"),
            // 17:30 ACST (+09:30) in June, 17:30 ACDT (+10:30) in January.
            ("Australia/Adelaide", "2024-06-04T08:00:00Z", HOUR, "2024-06-04T23:00:00Z"),
            ("Australia/Adelaide", "2024-01-09T07:00:00Z", HOUR, "2024-01-09T22:00:00Z"),
        ];
        for (tz, from, ms, due) in cases {
            assert_eq!(calendar(tz, OFFICE, &[]).add_ms(utc(from), ms), utc(due), "{tz} from {from}");
        }
    }

    #[test]
    fn dst_days_have_the_hours_the_clock_really_runs() {
        #[rustfmt::skip]
        let cases = [
            (LONDON, "00:00-24:00", date(2024, 3, 31), 23),
            (LONDON, "01:00-05:00", date(2024, 3, 31), 3),
            (LONDON, "24h", date(2024, 10, 27), 25),
            (LONDON, "01:00-05:00", date(2024, 10, 27), 5),
            ("Europe/Lisbon", "24h", date(2024, 3, 31), 23),
            ("America/New_York", "24h", date(2024, 3, 10), 23),
            ("America/New_York", "01:00-05:00", date(2024, 3, 10), 3),
            ("America/New_York", "22:00-06:00", date(2024, 3, 9), 7),
            // 02:30 falls in the gap and becomes 03:30, after 03:00: the hour 03:00-03:30 counts once.
            ("America/New_York", "01:00-02:30, 03:00-04:00", date(2024, 3, 10), 2),
            ("America/New_York", "24h", date(2024, 11, 3), 25),
            // Santiago changes at midnight: 23:00-24:00 repeats on 2024-04-06 and 2025-04-05; 2024-09-08 and
            // 2025-09-07 have no 00:00 and start at 01:00.
            (SANTIAGO, "24h", date(2024, 4, 6), 25),
            (SANTIAGO, "22:00-24:00", date(2024, 4, 6), 3),
            (SANTIAGO, "24h", date(2024, 9, 8), 23),
            (SANTIAGO, "22:00-02:00", date(2024, 9, 7), 3),
            (SANTIAGO, "24h", date(2025, 4, 5), 25),
            (SANTIAGO, "24h", date(2025, 9, 7), 23),
            ("Australia/Adelaide", "24h", date(2025, 4, 6), 25),
            ("Australia/Adelaide", "24h", date(2024, 10, 6), 23),
            ("Asia/Kolkata", "24h", date(2024, 10, 6), 24),
        ];
        for (tz, text, day, hours) in cases {
            let cal = calendar(tz, only(day.weekday().to_monday_zero_offset() as usize, text), &[]);
            let (before, after) = (day.yesterday().unwrap(), day.tomorrow().unwrap().tomorrow().unwrap());
            let (from, to) = (local(tz, &format!("{before}T12:00")), local(tz, &format!("{after}T12:00")));
            assert_eq!(cal.open_ms(from, to), hours * HOUR, "{tz} {text} on {day}");
        }
        // A 24/7 calendar counts elapsed time, not clock time.
        let (from, to) = (local(LONDON, "2024-03-31T00:00"), local(LONDON, "2024-04-01T00:00"));
        assert_eq!(Calendar::always().open_ms(from, to), 23 * HOUR);
        assert_eq!(calendar(LONDON, ["24h"; 7], &[]).open_ms(from, to), 23 * HOUR);
    }

    #[test]
    fn santiago_days_begin_when_the_zone_says() {
        let tz = TimeZone::get(SANTIAGO).unwrap();
        // The real transitions: 2024-09-08 begins at 01:00 -03 (04:00Z); on 2024-04-06, 23:00 comes twice.
        let sunday = date(2024, 9, 8).to_zoned(tz.clone()).unwrap().start_of_day().unwrap();
        assert_eq!((sunday.timestamp(), sunday.time()), (utc("2024-09-08T04:00:00Z"), time(1, 0, 0, 0)));
        assert_eq!(tz.to_datetime(utc("2024-04-07T02:30:00Z")), tz.to_datetime(utc("2024-04-07T03:30:00Z")));

        let cal = calendar(SANTIAGO, ["", "", "", "", "", "18:00-24:00", "00:00-08:00"], &[]);
        let saturday_late = utc("2024-09-08T03:30:00Z"); // 23:30 -04
        assert_eq!(cal.add_ms(saturday_late, 30 * MIN), utc("2024-09-08T04:00:00Z"));
        assert_eq!(cal.add_ms(saturday_late, 90 * MIN), utc("2024-09-08T05:00:00Z"));
        assert!(cal.is_open(utc("2024-09-08T04:00:00Z")));
        // Both passes through Saturday 23:30 on 2024-04-06 are open.
        assert!(cal.is_open(utc("2024-04-07T02:30:00Z")) && cal.is_open(utc("2024-04-07T03:30:00Z")));
    }

    #[test]
    fn open_and_next_opening() {
        let (office, split) = (calendar(LONDON, OFFICE, &[]), calendar(LONDON, SPLIT, &[]));
        #[rustfmt::skip]
        let cases = [
            (&office, "2024-06-04T08:00", true, "2024-06-04T08:00"),
            (&office, "2024-06-04T17:59:59.999", true, "2024-06-04T17:59:59.999"),
            (&office, "2024-06-04T18:00", false, "2024-06-05T08:00"),
            (&office, "2024-06-08T12:00", false, "2024-06-10T08:00"),
            (&split, "2024-06-04T12:00", false, "2024-06-04T14:00"),
            (&split, "2024-06-04T13:00", false, "2024-06-04T14:00"),
        ];
        for (cal, at, open, next) in cases {
            let at = local(LONDON, at);
            assert_eq!(cal.is_open(at), open, "open at {at}");
            assert_eq!(cal.next_opening(at), Some(local(LONDON, next)), "next after {at}");
        }
    }

    #[test]
    fn parses_openings() {
        let t = |h, m| time(h, m, 0, 0);
        let whole_day = vec![opening(t(0, 0), OpeningEnd::EndOfDay)];
        #[rustfmt::skip]
        let cases = [
            ("08:00-12:00, 14:00-18:00", vec![opening(t(8, 0), OpeningEnd::At(t(12, 0))), opening(t(14, 0), OpeningEnd::At(t(18, 0)))]),
            ("22:00-06:00", vec![opening(t(22, 0), OpeningEnd::At(t(6, 0)))]),
            ("22:00-00:00", vec![opening(t(22, 0), OpeningEnd::EndOfDay)]),
            (" 9:30-17:00 ", vec![opening(t(9, 30), OpeningEnd::At(t(17, 0)))]),
            ("00:00-24:00", whole_day.clone()),
            ("24h", whole_day),
            ("closed", vec![]),
            ("", vec![]),
        ];
        for (text, want) in cases {
            assert_eq!(parse_openings(text), Ok(want), "{text:?}");
        }
        assert_eq!(parse_openings("22:00-06:00").unwrap()[0].to_string(), "22:00-06:00");
        assert_eq!(parse_openings("24h").unwrap()[0].to_string(), "00:00-24:00");
    }

    #[test]
    fn rejects_bad_opening_text() {
        #[rustfmt::skip]
        let cases = [
            ("8am-5pm", r#""8am-5pm" is not HH:MM-HH:MM"#),
            ("08:00", r#""08:00" is not HH:MM-HH:MM"#),
            ("25:00-26:00", r#""25:00-26:00" is not HH:MM-HH:MM"#),
            ("08:60-09:00", r#""08:60-09:00" is not HH:MM-HH:MM"#),
            ("08:00-12:00,", r#""" is not HH:MM-HH:MM"#),
            ("24h, 08:00-09:00", r#""24h" is not HH:MM-HH:MM"#),
            ("24:00-08:00", r#""24:00-08:00" starts at 24:00; an opening can only end there"#),
            ("08:00-08:00", r#""08:00-08:00" ends when it starts (write "24h" for the whole day)"#),
        ];
        for (text, error) in cases {
            assert_eq!(parse_openings(text), Err(error.to_string()), "{text:?}");
        }
    }

    #[test]
    fn rejects_calendars_that_make_no_sense() {
        let tz = TimeZone::get(LONDON).unwrap();
        #[rustfmt::skip]
        let cases = [
            (["closed"; 7], "an empty calendar: no day has an opening, so it would never be open"),
            (only(0, "08:00-12:00, 11:00-14:00"), "openings overlap: Monday 08:00-12:00 and Monday 11:00-14:00"),
            (["22:00-06:00", "05:00-09:00", "", "", "", "", ""], "openings overlap: Monday 22:00-06:00 and Tuesday 05:00-09:00"),
            (["05:00-09:00", "", "", "", "", "", "22:00-06:00"], "openings overlap: Sunday 22:00-06:00 and Monday 05:00-09:00"),
        ];
        for (week, error) in cases {
            let week = week.map(|text| parse_openings(text).unwrap());
            assert_eq!(Calendar::new(tz.clone(), week, BTreeSet::new()).err(), Some(error.to_string()));
        }
        let eight = time(8, 0, 0, 0);
        let week = std::array::from_fn(|d| if d == 0 { vec![opening(eight, OpeningEnd::At(eight))] } else { vec![] });
        let error = Calendar::new(tz.clone(), week, BTreeSet::new()).err();
        assert_eq!(error.as_deref(), Some("Monday 08:00-08:00 ends when it starts"));
        // Touching is not overlapping.
        let week = ["22:00-06:00", "06:00-09:00", "", "", "", "", ""].map(|text| parse_openings(text).unwrap());
        assert!(Calendar::new(tz, week, BTreeSet::new()).is_ok());
    }

    #[test]
    fn always_open_is_plain_subtraction() {
        let cal = Calendar::always();
        let (from, to) = (utc("2000-01-01T00:00:00Z"), utc("2100-01-01T00:00:00.0015Z"));
        assert!(cal.is_always_open() && cal.is_open(from));
        assert_eq!(cal.open_ms(from, to), to.as_millisecond() - from.as_millisecond());
        assert_eq!(cal.open_ms(to, from), 0);
        assert_eq!(cal.add_ms(from, 90 * MIN), utc("2000-01-01T01:30:00Z"));
        assert_eq!((cal.add_ms(from, 0), cal.add_ms(from, -5)), (from, from));
        assert_eq!(cal.next_opening(to), Some(to));
        assert!(calendar(LONDON, ["24h"; 7], &[]).is_always_open());
        assert!(!calendar(LONDON, ["24h"; 7], &[date(2024, 12, 25)]).is_always_open());
        assert!(!calendar(LONDON, OFFICE, &[]).is_always_open());
    }

    #[test]
    fn years_of_holidays_end_the_walk() {
        let mut holidays = vec![date(2024, 1, 1)];
        while holidays.len() < 4500 {
            holidays.push(holidays.last().unwrap().tomorrow().unwrap());
        }
        let cal = calendar(LONDON, OFFICE, &holidays);
        let from = local(LONDON, "2024-01-02T09:00");
        assert!(!cal.is_open(from));
        assert_eq!(cal.next_opening(from), None);
        assert_eq!(cal.add_ms(from, HOUR), Timestamp::MAX);
        assert_eq!(cal.open_ms(from, local(LONDON, "2026-01-01T00:00")), 0);
    }

    /// Calendars for the properties: DST in both hemispheres, midnight changes, gaps inside openings, holidays.
    fn sample(which: usize) -> Calendar {
        let holidays = [date(2024, 9, 7), date(2025, 4, 5), date(2024, 12, 25), date(2025, 3, 30)];
        match which {
            0 => calendar(
                "America/New_York",
                ["08:00-12:00, 14:00-18:00", "", "", "", "22:00-02:00", "", "01:00-02:30, 03:00-04:00"],
                &[],
            ),
            1 => calendar(SANTIAGO, ["00:30-01:30, 09:00-17:00, 23:00-24:00"; 7], &holidays),
            2 => calendar("Australia/Adelaide", ["09:00-17:00", "", "", "", "", "02:00-04:00", "02:00-04:00"], &[]),
            3 => calendar(LONDON, ["01:00-05:00, 22:00-23:00"; 7], &holidays),
            4 => calendar("Asia/Kolkata", OFFICE, &holidays),
            5 => calendar("America/New_York", NIGHTS, &holidays),
            6 => calendar(LONDON, ["24h", "24h", "24h", "24h", "24h", "", ""], &[]),
            _ => Calendar::always(),
        }
    }

    const FROM: std::ops::Range<i64> = 1_672_531_200_000..1_798_761_600_000; // 2023 to 2026, in ms
    const UP_TO_60_DAYS: std::ops::Range<i64> = 0..60 * 24 * HOUR;

    proptest! {
        #[test]
        fn add_ms_spends_exactly_ms(which in 0..8usize, from in FROM, ms in UP_TO_60_DAYS) {
            let (cal, from) = (sample(which), timestamp(from));
            let due = cal.add_ms(from, ms);
            prop_assert!(due >= from);
            prop_assert_eq!(cal.open_ms(from, due), ms);
            if ms > 0 {
                prop_assert!(cal.is_open(just_before(due)), "just before {} is closed", due);
            }
        }

        #[test]
        fn add_ms_is_monotonic(which in 0..8usize, from in FROM, a in UP_TO_60_DAYS, b in UP_TO_60_DAYS) {
            let (cal, from) = (sample(which), timestamp(from));
            prop_assert!(cal.add_ms(from, a.min(b)) <= cal.add_ms(from, a.max(b)));
        }

        #[test]
        fn open_ms_adds_up(which in 0..8usize, a in FROM, ab in UP_TO_60_DAYS, bc in UP_TO_60_DAYS) {
            let cal = sample(which);
            let (a, b, c) = (timestamp(a), timestamp(a + ab), timestamp(a + ab + bc));
            prop_assert_eq!(cal.open_ms(a, c), cal.open_ms(a, b) + cal.open_ms(b, c));
        }

        #[test]
        fn next_opening_is_the_first_open_instant(which in 0..8usize, at in FROM) {
            let (cal, at) = (sample(which), timestamp(at));
            let next = cal.next_opening(at).unwrap();
            prop_assert!(next >= at && cal.is_open(next));
            prop_assert_eq!(cal.open_ms(at, next), 0);
            prop_assert_eq!(next == at, cal.is_open(at));
        }
    }
}
