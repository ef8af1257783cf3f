//! Notices to people: who hears of what, on which channel, when (quiet hours), what it says, when a failed delivery
//! is tried again, and when the next summary is due. Pure: the writer passes local time in.

use jiff::civil::{DateTime, Time, Weekday};
use serde::{Deserialize, Serialize};

use super::shifts::Window;

/// Why someone is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A ticket was given to them.
    Assigned,
    /// A ticket waits in their department's queue with nobody to take it (supervisors).
    Queued,
    /// An escalation level reached them.
    Escalation,
    /// Their ticket's SLA flag turned yellow: a breach is near.
    Warning,
    /// The daily or weekly summary.
    Summary,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 5] =
        [Reason::Assigned, Reason::Queued, Reason::Escalation, Reason::Warning, Reason::Summary];

    /// The spelling in files, events and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Assigned => "assigned",
            Reason::Queued => "queued",
            Reason::Escalation => "escalation",
            Reason::Warning => "warning",
            Reason::Summary => "summary",
        }
    }

    /// Parses the spelling.
    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// How a notice travels.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Mail over SMTP.
    Email,
    /// A configured HTTPS webhook, by name.
    Webhook(String),
    /// The person's MQTT staff topic (only assigned, queued and escalation notices have a payload there).
    Mqtt,
}

impl Channel {
    /// `email`, `mqtt`, or the webhook's name.
    pub fn name(&self) -> String {
        match self {
            Channel::Email => "email".into(),
            Channel::Mqtt => "mqtt".into(),
            Channel::Webhook(name) => name.clone(),
        }
    }

    /// The label metrics count under: `email`, `mqtt` or `webhook`.
    pub fn family(&self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Mqtt => "mqtt",
            Channel::Webhook(_) => "webhook",
        }
    }

    /// Whether this channel can carry notices given for `reason`.
    pub fn carries(&self, reason: Reason) -> bool {
        !matches!((self, reason), (Channel::Mqtt, Reason::Warning | Reason::Summary))
    }
}

/// One person's or contact's wishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preferences {
    /// The staff or contact id.
    pub id: String,
    /// The channels every notice goes out on (each gets its own notice).
    pub channels: Vec<Channel>,
    /// What they want to hear about.
    pub reasons: Vec<Reason>,
    /// When notices wait, in the property's local time.
    pub quiet_hours: Option<Window>,
    /// What goes out even in quiet hours.
    pub urgent: Vec<Reason>,
}

/// One notice to queue: to whom, how, and when at the earliest (local time; `None`: now).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The recipient's id.
    pub recipient: String,
    /// The channel.
    pub channel: Channel,
    /// The end of the recipient's quiet hours, when the notice must wait for it.
    pub hold_until: Option<DateTime>,
}

/// The notices `reason` gives to `recipients`, given their preferences and the local time now. A recipient without
/// preferences gets nothing here (staff still hear on their MQTT topic as before).
pub fn plan(reason: Reason, recipients: &[String], preferences: &[Preferences], local_now: DateTime) -> Vec<Planned> {
    let mut out = Vec::new();
    for recipient in recipients {
        let Some(prefs) = preferences.iter().find(|p| &p.id == recipient) else { continue };
        if !prefs.reasons.contains(&reason) {
            continue;
        }
        let hold_until = match prefs.quiet_hours {
            Some(window) if !prefs.urgent.contains(&reason) => quiet_end(window, local_now),
            _ => None,
        };
        for channel in prefs.channels.iter().filter(|c| c.carries(reason)) {
            if out.iter().any(|p: &Planned| &p.recipient == recipient && &p.channel == channel) {
                continue;
            }
            out.push(Planned { recipient: recipient.clone(), channel: channel.clone(), hold_until });
        }
    }
    out
}

/// When the quiet window that holds `now` ends, or `None` when `now` is outside it.
pub fn quiet_end(window: Window, now: DateTime) -> Option<DateTime> {
    let day = window.started_on(now)?;
    let end_day = if window.start == window.end || window.end <= window.start { day.tomorrow().ok()? } else { day };
    Some(end_day.to_datetime(window.end))
}

/// What a notice about a ticket says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFacts {
    /// The ticket number.
    pub ticket: String,
    /// The catalog item.
    pub item: String,
    /// The item's label for people (English, or the code).
    pub label: String,
    /// The location.
    pub location: String,
    /// The department.
    pub department: String,
    /// The priority.
    pub priority: String,
    /// The SLA flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<String>,
    /// The escalation level, for escalations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    /// Why the escalation fired (`due`, `emergency`, `manual`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<String>,
    /// When the SLA target is due (UTC), for warnings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
}

/// The subject line and the text of a notice about a ticket (short enough for an SMS: the text stays under 160
/// characters for usual labels and locations).
pub fn render(reason: Reason, facts: &TicketFacts) -> (String, String) {
    let what = format!("{} at {}", facts.label, facts.location);
    let (subject, text) = match reason {
        Reason::Assigned => (
            format!("{}: {what} is yours", facts.ticket),
            format!("{} ({}): {what} is assigned to you.", facts.ticket, facts.priority),
        ),
        Reason::Queued => (
            format!("{}: {what} is waiting", facts.ticket),
            format!("{} ({}): {what} is waiting; nobody on duty can take it.", facts.ticket, facts.priority),
        ),
        Reason::Escalation => {
            let level = facts.level.map(|l| format!(" level {l}")).unwrap_or_default();
            let why = match facts.escalation.as_deref() {
                Some("emergency") => "emergency",
                Some("manual") => "escalated by staff",
                _ => "not handled in time",
            };
            (
                format!("{}: escalation{level}, {what}", facts.ticket),
                format!("Escalation{level}: {} ({}) {what}, {why}.", facts.ticket, facts.priority),
            )
        }
        Reason::Warning => {
            let due = facts.due_at.as_deref().map(|d| format!(" by {d}")).unwrap_or_default();
            (
                format!("{}: {what} is close to its deadline", facts.ticket),
                format!("{} ({}): {what} must be handled{due} or it breaches its SLA.", facts.ticket, facts.priority),
            )
        }
        Reason::Summary => (format!("{}: summary", facts.ticket), facts.label.clone()),
    };
    (subject, text)
}

/// Figures for a summary: what the store knows today.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryFigures {
    /// `daily` or `weekly`.
    pub period: String,
    /// The period's start and end (local, for people).
    pub from: String,
    /// The period's end.
    pub to: String,
    /// Tickets raised in the period.
    pub raised: u64,
    /// Tickets resolved in the period.
    pub resolved: u64,
    /// SLA breaches in the period.
    pub breaches: u64,
    /// Open tickets now, by department.
    pub open_by_department: Vec<(String, u64)>,
}

/// The subject and text of a summary.
pub fn render_summary(site: &str, figures: &SummaryFigures) -> (String, String) {
    let open: u64 = figures.open_by_department.iter().map(|(_, n)| n).sum();
    let subject = format!("{site}: {} summary, {} to {}", figures.period, figures.from, figures.to);
    let mut text = format!(
        "{site}, {} to {}: {} raised, {} resolved, {} SLA breaches; {open} open now.",
        figures.from, figures.to, figures.raised, figures.resolved, figures.breaches
    );
    for (department, n) in &figures.open_by_department {
        text += &format!("\n  {department}: {n} open");
    }
    (subject, text)
}

/// When a delivery that failed `attempts` times (from 1) is tried again: `initial_s` doubling each time, at most
/// `max_s`, in milliseconds after the failure.
pub fn retry_after_ms(attempts: u32, initial_s: u64, max_s: u64) -> i64 {
    let doubled = initial_s.saturating_mul(1u64 << attempts.saturating_sub(1).min(20));
    (doubled.min(max_s).max(1) * 1000) as i64
}

/// When a summary is sent: every day at a time, or every week on a weekday at a time (local).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummarySlot {
    /// `None` for a daily summary.
    pub weekday: Option<Weekday>,
    /// The local time.
    pub time: Time,
}

impl SummarySlot {
    /// Parses `HH:MM` (daily) or `mon HH:MM` (weekly).
    pub fn parse(text: &str, weekly: bool) -> Result<SummarySlot, String> {
        let (day, time) = match (weekly, text.trim().split_once(' ')) {
            (true, Some((day, time))) => {
                (Some(super::shifts::parse_weekday(day).ok_or_else(|| format!("{day:?} is not a weekday"))?), time)
            }
            (true, None) => return Err(format!("{text:?} is not a weekday and time such as \"mon 07:30\"")),
            (false, _) => (None, text.trim()),
        };
        let time = time.trim().parse::<Time>().map_err(|_| format!("{time:?} is not a time such as \"07:30\""))?;
        Ok(SummarySlot { weekday: day, time })
    }

    /// The latest slot at or before `now` (local), within the last week.
    pub fn latest(&self, now: DateTime) -> Option<DateTime> {
        let mut day = now.date();
        for _ in 0..8 {
            let at = day.to_datetime(self.time);
            if at <= now && self.weekday.is_none_or(|w| day.weekday() == w) {
                return Some(at);
            }
            day = day.yesterday().ok()?;
        }
        None
    }

    /// The first slot after `now` (local).
    pub fn next(&self, now: DateTime) -> Option<DateTime> {
        let mut day = now.date();
        for _ in 0..9 {
            let at = day.to_datetime(self.time);
            if at > now && self.weekday.is_none_or(|w| day.weekday() == w) {
                return Some(at);
            }
            day = day.tomorrow().ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn prefs(id: &str, quiet: Option<&str>) -> Preferences {
        Preferences {
            id: id.into(),
            channels: vec![Channel::Email, Channel::Webhook("sms".into()), Channel::Mqtt],
            reasons: vec![Reason::Assigned, Reason::Escalation, Reason::Warning],
            quiet_hours: quiet.map(|q| Window::parse(q).unwrap()),
            urgent: vec![Reason::Escalation],
        }
    }

    #[test]
    fn only_people_with_preferences_and_wanted_reasons_are_planned() {
        let people = [prefs("ana", None)];
        let now = date(2026, 11, 27).at(12, 0, 0, 0);
        let planned = plan(Reason::Assigned, &["ana".into(), "bob".into()], &people, now);
        assert_eq!(planned.len(), 3, "every channel of ana's, nobody for bob: {planned:?}");
        assert!(plan(Reason::Queued, &["ana".into()], &people, now).is_empty(), "ana does not want queued");
        let warnings = plan(Reason::Warning, &["ana".into()], &people, now);
        assert!(warnings.iter().all(|p| p.channel != Channel::Mqtt), "the staff topic has no warning payload");
    }

    #[test]
    fn quiet_hours_hold_notices_until_they_end_but_not_urgent_ones() {
        let people = [prefs("ana", Some("22:00-07:00"))];
        let night = date(2026, 11, 27).at(23, 30, 0, 0);
        let held = plan(Reason::Assigned, &["ana".into()], &people, night);
        assert_eq!(held[0].hold_until, Some(date(2026, 11, 28).at(7, 0, 0, 0)));
        let early = date(2026, 11, 28).at(6, 0, 0, 0);
        assert_eq!(
            plan(Reason::Assigned, &["ana".into()], &people, early)[0].hold_until,
            Some(date(2026, 11, 28).at(7, 0, 0, 0))
        );
        assert_eq!(plan(Reason::Escalation, &["ana".into()], &people, night)[0].hold_until, None, "urgent");
        let day = date(2026, 11, 28).at(12, 0, 0, 0);
        assert_eq!(plan(Reason::Assigned, &["ana".into()], &people, day)[0].hold_until, None);
    }

    #[test]
    fn retries_back_off_doubling_up_to_the_cap() {
        assert_eq!(retry_after_ms(1, 30, 1800), 30_000);
        assert_eq!(retry_after_ms(2, 30, 1800), 60_000);
        assert_eq!(retry_after_ms(5, 30, 1800), 480_000);
        assert_eq!(retry_after_ms(50, 30, 1800), 1_800_000);
    }

    #[test]
    fn summary_slots_find_the_latest_and_next() {
        let daily = SummarySlot::parse("07:30", false).unwrap();
        let now = date(2026, 11, 27).at(6, 0, 0, 0);
        assert_eq!(daily.latest(now), Some(date(2026, 11, 26).at(7, 30, 0, 0)));
        assert_eq!(daily.next(now), Some(date(2026, 11, 27).at(7, 30, 0, 0)));
        let weekly = SummarySlot::parse("mon 08:00", true).unwrap();
        // 2026-11-27 is a Friday.
        assert_eq!(weekly.latest(now), Some(date(2026, 11, 23).at(8, 0, 0, 0)));
        assert_eq!(weekly.next(now), Some(date(2026, 11, 30).at(8, 0, 0, 0)));
        assert!(SummarySlot::parse("someday 08:00", true).is_err());
        assert!(SummarySlot::parse("25:00", false).is_err());
    }

    #[test]
    fn texts_name_the_ticket_the_item_and_the_place() {
        let facts = TicketFacts {
            ticket: "H-12".into(),
            label: "Extra towels".into(),
            location: "101".into(),
            priority: "low".into(),
            level: Some(2),
            escalation: Some("due".into()),
            ..Default::default()
        };
        let (subject, text) = render(Reason::Escalation, &facts);
        assert!(subject.contains("H-12") && subject.contains("level 2"), "{subject}");
        assert!(text.contains("Extra towels at 101") && text.len() < 160, "{text}");
    }
}
