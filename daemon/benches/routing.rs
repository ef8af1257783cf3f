//! Routing benchmark: routing decisions (rule set) and assignments (staff) per second, pure and in memory, against a
//! bare scan over the same rules that compares only item codes, measured in the same run.
//!
//! Run: `cargo bench -p bellhop --bench routing` (knob: BENCH_DECISIONS, default 200,000). The rule set has 1,000
//! rules with varied conditions; every ticket is matched by one of the last ten, so each decision scans at least 990
//! rules and records why each was passed over. 500 staff in 5 departments take the tickets; tickets are resolved
//! first-in first-out once 2,000 are open, so loads stay steady.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Instant;

use bellhop::engine::assign::{choose, weight, Candidate, Need};
use bellhop::engine::routing::{route, Conditions, Outcome, Rule, Subject};
use bellhop::engine::shifts::{ShiftPattern, Window};
use bellhop::vocab::Source;
use bellhop::vocab::{CatalogItem, Duty, GuestTier, Location, LocationClass, LocationKind, Priority};
use jiff::civil::{date, Weekday};

const RULES: usize = 1_000;
const STAFF: usize = 500;
const DEPARTMENTS: [&str; 5] = ["housekeeping", "engineering", "security", "food", "front_desk"];
const SKILLS: [&str; 4] = ["butler", "electrical", "plumbing", "first_aid"];
const ITEMS_PER_DEPARTMENT: usize = 10;
const ROOMS: usize = 1_000;
const SUBJECTS: usize = 4_096;
const MAX_OPEN: usize = 2_000;

/// A small deterministic generator (xorshift64), so every run measures the same work.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn catalog() -> Vec<CatalogItem> {
    let mut items = Vec::new();
    for (d, department) in DEPARTMENTS.iter().enumerate() {
        for n in 0..ITEMS_PER_DEPARTMENT {
            items.push(CatalogItem {
                code: format!("{department}.item{n}"),
                category: department.to_string(),
                department: department.to_string(),
                priority: Priority::ALL[(d + n) % 4],
                eta_min: Some(15),
                max_qty: 5,
                sla: None,
                skill: (n % 3 == 0).then(|| SKILLS[d % SKILLS.len()].to_string()),
                emergency: false,
                guest: true,
                labels: Default::default(),
            });
        }
    }
    items
}

fn locations() -> Vec<Location> {
    (0..ROOMS)
        .map(|n| Location {
            id: format!("{}{:02}", n / 50 + 1, n % 50),
            kind: if n % 10 == 0 { LocationKind::Area } else { LocationKind::Room },
            building: Some(if n < ROOMS / 2 { "main" } else { "tower" }.into()),
            wing: Some(["east", "west"][n % 2].into()),
            floor: Some((n / 50 + 1) as i32),
            class: if n % 25 == 0 { LocationClass::Suite } else { LocationClass::Standard },
        })
        .collect()
}

fn shifts() -> Vec<ShiftPattern> {
    let shift = |name: &str, window: &str| ShiftPattern {
        name: name.into(),
        days: vec![],
        window: Window::parse(window).unwrap(),
    };
    vec![shift("day", "07:00-15:00"), shift("late", "15:00-23:00"), shift("night", "23:00-07:00")]
}

/// 990 rules that no ticket in this run satisfies, each failing somewhere different, then ten that match.
fn rules(items: &[CatalogItem], rng: &mut Rng) -> Vec<Rule> {
    let c = Conditions::default;
    let mut rules = Vec::with_capacity(RULES);
    for i in 0..RULES - 10 {
        let some_items = || (0..3).map(|k| items[(i * 7 + k * 13) % items.len()].code.clone()).collect();
        let category = || vec![DEPARTMENTS[i % DEPARTMENTS.len()].to_string()];
        let when = match i % 6 {
            // Passes the item check a few times in fifty, then fails on a floor no room has.
            0 => Conditions { items: some_items(), floors: vec![40 + (i % 5) as i32], ..c() },
            // A fifth of tickets pass the category, then fail on the source.
            1 => Conditions { categories: category(), sources: vec![Source::Alert], ..c() },
            // Location conditions: the right building half the time, never the VIP class.
            2 => Conditions {
                buildings: vec!["main".into()],
                wings: vec!["east".into()],
                classes: vec![LocationClass::Vip],
                ..c()
            },
            // Hours, days and a shift that do not exist here.
            3 => Conditions {
                window: Some(Window::parse("22:00-06:00").unwrap()),
                days: vec![Weekday::Monday],
                shifts: vec!["swing".into()],
                ..c()
            },
            // Guest tier, then a shift pattern the property does not have.
            4 => Conditions { guest_tiers: vec![GuestTier::Vip], shifts: vec!["swing".into()], ..c() },
            // Items and a location kind no location has together with a long-stay guest.
            _ => Conditions { items: some_items(), guest_tiers: vec![GuestTier::LongStay], ..c() },
        };
        let then = Outcome { priority: Some(Priority::ALL[rng.below(4)]), ..Outcome::default() };
        rules.push(Rule { name: format!("rule {i}"), when, then });
    }
    for (d, department) in DEPARTMENTS.iter().enumerate() {
        rules.push(Rule {
            name: format!("{department} in the day"),
            when: Conditions { categories: vec![department.to_string()], shifts: vec!["day".into()], ..c() },
            then: Outcome { department: Some(DEPARTMENTS[(d + 1) % 5].to_string()), ..Outcome::default() },
        });
        rules.push(Rule {
            name: format!("{department} otherwise"),
            when: Conditions { categories: vec![department.to_string()], ..c() },
            then: Outcome::default(),
        });
    }
    rules
}

struct Person {
    id: String,
    departments: Vec<String>,
    skills: Vec<String>,
    duty: Duty,
}

fn staff(rng: &mut Rng) -> Vec<Person> {
    (0..STAFF)
        .map(|n| Person {
            id: format!("staff{n:03}"),
            departments: vec![DEPARTMENTS[n % DEPARTMENTS.len()].to_string()],
            skills: SKILLS.iter().filter(|_| rng.below(2) == 0).map(|s| s.to_string()).collect(),
            duty: [Duty::On, Duty::On, Duty::On, Duty::On, Duty::On, Duty::On, Duty::Break, Duty::Off][rng.below(8)],
        })
        .collect()
}

fn per_second(count: usize, seconds: f64) -> f64 {
    count as f64 / seconds
}

/// `1234567.8` → `1,234,568`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn main() {
    let decisions = knob("BENCH_DECISIONS", 200_000);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let items = catalog();
    let locations = locations();
    let shifts = shifts();
    let rules = rules(&items, &mut rng);
    let people = staff(&mut rng);
    let monday = date(2025, 6, 2);
    let subjects: Vec<Subject<'_>> = (0..SUBJECTS)
        .map(|_| Subject {
            item: &items[rng.below(items.len())],
            location: Some(&locations[rng.below(locations.len())]),
            guest_tier: [GuestTier::Standard, GuestTier::Standard, GuestTier::Vip][rng.below(3)],
            occupancy: bellhop::engine::routing::Occupancy::Occupied,
            source: [Source::Tv, Source::Tv, Source::Kiosk, Source::Staff][rng.below(4)],
            at: monday.checked_add(jiff::Span::new().days(rng.below(7) as i64)).unwrap().at(
                rng.below(24) as i8,
                rng.below(60) as i8,
                0,
                0,
            ),
            shifts: &shifts,
        })
        .collect();
    let mut candidates: Vec<Candidate<'_>> = people
        .iter()
        .map(|p| Candidate {
            id: &p.id,
            departments: &p.departments,
            skills: &p.skills,
            cap: 8,
            duty: p.duty,
            open: 0,
            load: 0,
            last_assigned: 0,
        })
        .collect();

    // Every decision must land in the last ten rules, or the figures mean less than they say.
    let skipped: usize = subjects.iter().map(|s| route(&rules, s).skipped.len()).sum();
    let mean_skipped = skipped as f64 / SUBJECTS as f64;
    assert!(mean_skipped >= (RULES - 10) as f64, "a rule before the last ten matched");

    // Baseline: the same 1,000 rules scanned comparing only item codes.
    let start = Instant::now();
    let mut hits = 0usize;
    for n in 0..decisions {
        let code = &black_box(&subjects[n % SUBJECTS]).item.code;
        hits += rules.iter().filter(|r| r.when.items.iter().any(|c| c == code)).count();
    }
    black_box(hits);
    let scan = per_second(decisions, start.elapsed().as_secs_f64());

    // Routing alone.
    let start = Instant::now();
    for n in 0..decisions {
        black_box(route(black_box(&rules), &subjects[n % SUBJECTS]));
    }
    let routed = per_second(decisions, start.elapsed().as_secs_f64());

    // The needs the routing gives, for assignment alone.
    let routings: Vec<_> = subjects.iter().map(|s| route(&rules, s)).collect();
    let needs: Vec<Need<'_>> =
        routings.iter().map(|r| Need { department: &r.department, skill: r.skill.as_deref() }).collect();

    let mut open = VecDeque::new();
    let mut assign = |candidates: &mut Vec<Candidate<'_>>, need: &Need<'_>, priority: Priority, seq: u64| {
        let choice = choose(candidates, need);
        if let Some(i) = choice.chosen.and_then(|id| candidates.iter().position(|c| c.id == id)) {
            let w = weight(priority);
            candidates[i].open += 1;
            candidates[i].load += w;
            candidates[i].last_assigned = seq;
            open.push_back((i, w));
        }
        if open.len() > MAX_OPEN {
            let (i, w) = open.pop_front().unwrap();
            candidates[i].open -= 1;
            candidates[i].load -= w;
        }
        choice.chosen.is_some()
    };

    // Assignment alone.
    let start = Instant::now();
    let mut assigned = 0usize;
    for n in 0..decisions {
        let k = n % SUBJECTS;
        assigned += usize::from(assign(&mut candidates, &needs[k], routings[k].priority, n as u64 + 1));
    }
    let chosen = per_second(decisions, start.elapsed().as_secs_f64());

    // Routing and assignment together, as the daemon raises a ticket.
    let start = Instant::now();
    for n in 0..decisions {
        let routing = route(&rules, &subjects[n % SUBJECTS]);
        let need = Need { department: &routing.department, skill: routing.skill.as_deref() };
        let seq = (decisions + n) as u64 + 1;
        assigned += usize::from(assign(&mut candidates, &need, routing.priority, seq));
    }
    let both = per_second(decisions, start.elapsed().as_secs_f64());

    println!(
        "routing bench: {} rules ({:.0} scanned per decision on average), {} staff in {} departments, {} decisions",
        thousands(RULES as f64),
        mean_skipped + 1.0,
        STAFF,
        DEPARTMENTS.len(),
        thousands(decisions as f64)
    );
    println!("baseline, a bare item-code scan over the same rules: {} scans/s", thousands(scan));
    println!("routing alone:    {} decisions/s; {:.2} x the bare scan", thousands(routed), routed / scan);
    println!("assignment alone: {} decisions/s ({} staff)", thousands(chosen), STAFF);
    println!(
        "routing+assignment: {} decisions/s ({} rules, {} staff); {:.2} x a bare item-code scan",
        thousands(both),
        thousands(RULES as f64),
        STAFF,
        both / scan
    );
    println!(
        "tickets assigned: {} of {} (the rest found nobody qualified and free)",
        thousands(assigned as f64),
        thousands(2.0 * decisions as f64)
    );
}
