//! The daily and weekly summaries: at each configured local time, the figures of the period just ended are read
//! from the store and handed to the core, which queues one notice per recipient once per slot (a restart or a
//! repeated slot queues nothing new). A slot missed while the daemon was down is sent late, if it is under 12 hours
//! old.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::{format_time, Clock};
use crate::config::Config;
use crate::core::{Command, CoreHandle};
use crate::engine::notice::{SummaryFigures, SummarySlot};
use crate::store::ReadPool;

/// The longest sleep between looks at the clock and the configuration.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// A slot older than this is not sent late.
const LATE_LIMIT_MS: i64 = 12 * 3_600_000;

/// Sends summaries until shutdown.
pub async fn run(
    configs: watch::Receiver<Arc<Config>>,
    core: CoreHandle,
    reads: ReadPool,
    clock: Arc<dyn Clock>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut sent: [Option<i64>; 2] = [None, None];
    loop {
        let config = configs.borrow().clone();
        let settings = &config.notifications;
        let tz = config.site.time_zone.clone();
        let now = clock.now();
        let local = now.to_zoned(tz.clone()).datetime();
        let mut next_wake = MAX_SLEEP;
        let slots = [("daily", settings.daily, 1), ("weekly", settings.weekly, 7)];
        for (index, (period, slot, days)) in slots.into_iter().enumerate() {
            let Some(slot) = slot else { continue };
            if settings.summary_to.is_empty() {
                continue;
            }
            if let Some(due) = latest(&slot, local, &tz) {
                let age = now.as_millisecond() - due.as_millisecond();
                let pending = sent[index] != Some(due.as_millisecond()) && (0..LATE_LIMIT_MS).contains(&age);
                if pending && send(&core, &reads, &tz, period, due, days).await {
                    sent[index] = Some(due.as_millisecond());
                }
            }
            if let Some(next) = slot.next(local).and_then(|l| l.to_zoned(tz.clone()).ok()) {
                let wait = next.timestamp().as_millisecond() - now.as_millisecond();
                next_wake = next_wake.min(Duration::from_millis(wait.max(0) as u64));
            }
        }
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            _ = tokio::time::sleep(next_wake + Duration::from_millis(5)) => {}
        }
    }
}

fn latest(slot: &SummarySlot, local: jiff::civil::DateTime, tz: &jiff::tz::TimeZone) -> Option<jiff::Timestamp> {
    slot.latest(local)?.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

async fn send(
    core: &CoreHandle,
    reads: &ReadPool,
    tz: &jiff::tz::TimeZone,
    period: &str,
    due: jiff::Timestamp,
    days: i64,
) -> bool {
    let Ok(start) = due.to_zoned(tz.clone()).checked_sub(jiff::Span::new().days(days)) else { return false };
    let (from, to) = (format_time(start.timestamp()), format_time(due));
    let counts = reads
        .with(move |r| Ok((r.notices().period_counts(&from, &to)?, r.tickets().open_by_department_and_flag()?)))
        .await;
    let ((raised, resolved, breaches), open) = match counts {
        Ok(counts) => counts,
        Err(error) => {
            tracing::warn!(%error, period, "Could not read the figures for a summary.");
            return false;
        }
    };
    let mut by_department = std::collections::BTreeMap::<String, u64>::new();
    for (department, _flag, n) in open {
        *by_department.entry(department).or_default() += n;
    }
    let local = |t: jiff::Timestamp| t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string();
    let figures = SummaryFigures {
        period: period.to_owned(),
        from: local(start.timestamp()),
        to: local(due),
        raised,
        resolved,
        breaches,
        open_by_department: by_department.into_iter().collect(),
    };
    let slot_ms = due.as_millisecond();
    match core.call(|reply| Command::Summary { slot_ms, figures, reply }).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) | Err(error) => {
            tracing::warn!(%error, period, "A summary could not be queued.");
            false
        }
    }
}
