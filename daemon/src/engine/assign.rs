//! Assignment: which member of staff on duty takes a ticket, and why the others did not. Pure.
//!
//! Among the staff who are on duty, in the ticket's department, have the skill it needs and are below their cap,
//! the one with the least load takes it: load is the sum of the [`weight`]s of their open tickets. Ties go to the
//! one with fewer open tickets, then to the one who was assigned least recently (round robin), then by id, so the
//! choice never depends on the order staff are listed in.

use serde::Serialize;

use crate::vocab::{Duty, Priority};

/// The load one open ticket of `priority` puts on its assignee: critical 8, high 4, medium 2, low 1.
pub fn weight(priority: Priority) -> u32 {
    match priority {
        Priority::Critical => 8,
        Priority::High => 4,
        Priority::Medium => 2,
        Priority::Low => 1,
    }
}

/// A member of staff as assignment sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Their staff id.
    pub id: &'a str,
    /// The departments they work for.
    pub departments: &'a [String],
    /// Their skills.
    pub skills: &'a [String],
    /// The most open tickets they may hold.
    pub cap: u32,
    /// Whether they are on duty.
    pub duty: Duty,
    /// How many open tickets they hold.
    pub open: u32,
    /// The sum of the [`weight`]s of their open tickets.
    pub load: u32,
    /// The sequence number of their last automatic assignment; 0 when never.
    pub last_assigned: u64,
}

/// What the ticket needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need<'a> {
    /// The department that owns it.
    pub department: &'a str,
    /// The skill it needs, if any.
    pub skill: Option<&'a str>,
}

/// Why a member of staff could not take a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Not on duty.
    #[error("off duty")]
    OffDuty,
    /// On a break.
    #[error("on a break")]
    OnBreak,
    /// Not in the ticket's department.
    #[error("not in the department")]
    OtherDepartment,
    /// Without the skill the ticket needs.
    #[error("lacks the skill")]
    LacksSkill,
    /// Already holding as many open tickets as their cap allows.
    #[error("at their cap of open tickets")]
    AtCap,
}

/// The choice and the reasoning behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice<'a> {
    /// The member of staff chosen, or `None` when nobody qualifies.
    pub chosen: Option<&'a str>,
    /// Everyone considered, in the order given: their load when they qualified, else why not.
    pub considered: Vec<(&'a str, Result<u32, Exclusion>)>,
}

/// Chooses who takes a ticket that needs `need`.
pub fn choose<'a>(candidates: &[Candidate<'a>], need: &Need<'_>) -> Choice<'a> {
    let considered = candidates.iter().map(|c| (c.id, qualifies(c, need))).collect();
    let chosen = candidates
        .iter()
        .filter(|c| qualifies(c, need).is_ok())
        .min_by_key(|c| (c.load, c.open, c.last_assigned, c.id))
        .map(|c| c.id);
    Choice { chosen, considered }
}

/// Whether `c` may take a ticket needing `need`: their load if so, else the first reason not.
fn qualifies(c: &Candidate<'_>, need: &Need<'_>) -> Result<u32, Exclusion> {
    match c.duty {
        Duty::Off => return Err(Exclusion::OffDuty),
        Duty::Break => return Err(Exclusion::OnBreak),
        Duty::On => {}
    }
    if !c.departments.iter().any(|d| d == need.department) {
        return Err(Exclusion::OtherDepartment);
    }
    if need.skill.is_some_and(|skill| !c.skills.iter().any(|s| s == skill)) {
        return Err(Exclusion::LacksSkill);
    }
    if c.open >= c.cap {
        return Err(Exclusion::AtCap);
    }
    Ok(c.load)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exclusions_and_the_least_loaded() {
        let hk = list(&["housekeeping"]);
        let eng = list(&["engineering"]);
        let butler = list(&["butler"]);
        let none: Vec<String> = vec![];
        let base = Candidate {
            id: "",
            departments: &hk,
            skills: &butler,
            cap: 5,
            duty: Duty::On,
            open: 1,
            load: 4,
            last_assigned: 0,
        };
        let staff = [
            Candidate { id: "ana", duty: Duty::Off, load: 0, ..base },
            Candidate { id: "ben", duty: Duty::Break, load: 0, ..base },
            Candidate { id: "cai", departments: &eng, load: 0, ..base },
            Candidate { id: "dee", skills: &none, load: 0, ..base },
            Candidate { id: "eve", open: 5, load: 0, ..base },
            Candidate { id: "fay", load: 2, ..base },
            Candidate { id: "gus", load: 3, ..base },
        ];
        let choice = choose(&staff, &Need { department: "housekeeping", skill: Some("butler") });
        assert_eq!(choice.chosen, Some("fay"));
        assert_eq!(
            choice.considered,
            [
                ("ana", Err(Exclusion::OffDuty)),
                ("ben", Err(Exclusion::OnBreak)),
                ("cai", Err(Exclusion::OtherDepartment)),
                ("dee", Err(Exclusion::LacksSkill)),
                ("eve", Err(Exclusion::AtCap)),
                ("fay", Ok(2)),
                ("gus", Ok(3)),
            ]
        );
        let without_skill = choose(&staff, &Need { department: "housekeeping", skill: None });
        assert_eq!(without_skill.chosen, Some("dee"), "dee qualifies when no skill is needed");
        assert_eq!(choose(&staff, &Need { department: "security", skill: None }).chosen, None);
        assert_eq!(choose(&[], &Need { department: "security", skill: None }).chosen, None);
        assert_eq!(Exclusion::AtCap.to_string(), "at their cap of open tickets");
    }

    #[test]
    fn ties_go_to_fewer_open_then_longest_waiting_then_id() {
        let hk = list(&["housekeeping"]);
        let base = Candidate {
            id: "",
            departments: &hk,
            skills: &[],
            cap: 9,
            duty: Duty::On,
            open: 2,
            load: 4,
            last_assigned: 5,
        };
        let need = Need { department: "housekeeping", skill: None };
        let cases: Vec<(&str, Vec<Candidate<'_>>, &str)> = vec![
            ("fewer open", vec![Candidate { id: "a", ..base }, Candidate { id: "b", open: 1, ..base }], "b"),
            ("least recent", vec![Candidate { id: "a", ..base }, Candidate { id: "b", last_assigned: 3, ..base }], "b"),
            (
                "never assigned",
                vec![Candidate { id: "a", ..base }, Candidate { id: "b", last_assigned: 0, ..base }],
                "b",
            ),
            ("by id", vec![Candidate { id: "b", ..base }, Candidate { id: "a", ..base }], "a"),
            ("load first", vec![Candidate { id: "a", open: 0, ..base }, Candidate { id: "b", load: 3, ..base }], "b"),
        ];
        for (name, staff, want) in cases {
            assert_eq!(choose(&staff, &need).chosen, Some(want), "{name}");
        }
    }

    #[test]
    fn equal_staff_take_turns() {
        let hk = list(&["housekeeping"]);
        let mut staff: Vec<Candidate<'_>> = ["c", "a", "b"]
            .into_iter()
            .map(|id| Candidate {
                id,
                departments: &hk,
                skills: &[],
                cap: 9,
                duty: Duty::On,
                open: 0,
                load: 0,
                last_assigned: 0,
            })
            .collect();
        let need = Need { department: "housekeeping", skill: None };
        let mut order = Vec::new();
        for seq in 1..=6 {
            let id = choose(&staff, &need).chosen.unwrap();
            order.push(id);
            let c = staff.iter_mut().find(|c| c.id == id).unwrap();
            c.open += 1;
            c.load += 1;
            c.last_assigned = seq;
            // Tickets are closed as fast as they come, so only the round robin separates them.
            c.open -= 1;
            c.load -= 1;
        }
        assert_eq!(order, ["a", "b", "c", "a", "b", "c"]);
    }

    #[test]
    fn duty_spells_and_parses() {
        for duty in Duty::ALL {
            assert_eq!(Duty::parse(duty.as_str()), Some(duty));
            assert_eq!(serde_json::to_value(duty).unwrap(), duty.as_str());
        }
        assert_eq!(Duty::parse("lunch"), None);
        assert_eq!(Priority::ALL.map(weight), [8, 4, 2, 1]);
    }

    const DEPARTMENTS: [&str; 3] = ["housekeeping", "engineering", "security"];
    const SKILLS: [&str; 3] = ["butler", "electrical", "plumbing"];

    /// One generated member of staff: department and skill picks as bit masks over the lists above.
    #[derive(Debug, Clone)]
    struct Person {
        departments: Vec<String>,
        skills: Vec<String>,
        cap: u32,
        duty: Duty,
        open: u32,
        load: u32,
        last_assigned: u64,
    }

    fn pick(mask: u8, from: &[&str]) -> Vec<String> {
        from.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, s)| s.to_string()).collect()
    }

    fn person() -> impl Strategy<Value = Person> {
        (0u8..8, 0u8..8, 0u32..4, prop::sample::select(Duty::ALL.to_vec()), 0u32..5, 0u32..30, 0u64..10).prop_map(
            |(d, s, cap, duty, open, load, last_assigned)| Person {
                departments: pick(d, &DEPARTMENTS),
                skills: pick(s, &SKILLS),
                cap,
                duty,
                open,
                load,
                last_assigned,
            },
        )
    }

    fn candidates<'a>(people: &'a [Person], ids: &'a [String]) -> Vec<Candidate<'a>> {
        people
            .iter()
            .zip(ids)
            .map(|(p, id)| Candidate {
                id,
                departments: &p.departments,
                skills: &p.skills,
                cap: p.cap,
                duty: p.duty,
                open: p.open,
                load: p.load,
                last_assigned: p.last_assigned,
            })
            .collect()
    }

    /// Picks for a stream of tickets among `n` equal staff, updating them as the daemon will after each pick, and
    /// checks `spread` (the largest minus the smallest of a figure) after every step.
    fn stream(n: usize, priorities: &[Priority], figure: impl Fn(&Candidate<'_>) -> u32, spread: u32) {
        let hk = list(&["housekeeping"]);
        let ids: Vec<String> = (0..n).map(|i| format!("s{i:02}")).collect();
        let mut staff: Vec<Candidate<'_>> = ids
            .iter()
            .map(|id| Candidate {
                id,
                departments: &hk,
                skills: &[],
                cap: u32::MAX,
                duty: Duty::On,
                open: 0,
                load: 0,
                last_assigned: 0,
            })
            .collect();
        let need = Need { department: "housekeeping", skill: None };
        for (seq, priority) in (1..).zip(priorities) {
            let id = choose(&staff, &need).chosen.unwrap();
            let c = staff.iter_mut().find(|c| c.id == id).unwrap();
            c.open += 1;
            c.load += weight(*priority);
            c.last_assigned = seq;
            let values: Vec<u32> = staff.iter().map(&figure).collect();
            let (min, max) = (values.iter().min().unwrap(), values.iter().max().unwrap());
            assert!(max - min <= spread, "after ticket {seq}: {values:?}");
        }
    }

    proptest! {
        #[test]
        fn only_qualified_staff_are_chosen(
            people in prop::collection::vec(person(), 0..12),
            department in prop::sample::select(DEPARTMENTS.to_vec()),
            skill in prop::option::of(prop::sample::select(SKILLS.to_vec())),
        ) {
            let ids: Vec<String> = (0..people.len()).map(|i| format!("s{i}")).collect();
            let staff = candidates(&people, &ids);
            let need = Need { department, skill };
            let choice = choose(&staff, &need);
            let qualified: Vec<&Candidate<'_>> = staff
                .iter()
                .filter(|c| {
                    c.duty == Duty::On
                        && c.departments.iter().any(|d| d == department)
                        && skill.is_none_or(|s| c.skills.iter().any(|x| x == s))
                        && c.open < c.cap
                })
                .collect();
            prop_assert_eq!(choice.chosen.is_none(), qualified.is_empty());
            prop_assert_eq!(choice.considered.len(), staff.len());
            if let Some(id) = choice.chosen {
                let c = staff.iter().find(|c| c.id == id).unwrap();
                prop_assert!(qualified.iter().any(|q| q.id == id));
                prop_assert!(qualified.iter().all(|q| c.load <= q.load), "someone qualified has less load");
            }
            for ((id, verdict), c) in choice.considered.iter().zip(&staff) {
                prop_assert_eq!(*id, c.id);
                prop_assert_eq!(verdict.is_ok(), qualified.iter().any(|q| q.id == c.id));
            }
        }

        #[test]
        fn equal_priorities_keep_counts_within_one(n in 1usize..12, tickets in 0usize..200) {
            stream(n, &vec![Priority::Medium; tickets], |c| c.open, 1);
        }

        #[test]
        fn mixed_priorities_keep_loads_within_the_largest_weight(
            n in 1usize..12,
            priorities in prop::collection::vec(prop::sample::select(Priority::ALL.to_vec()), 0..200),
        ) {
            stream(n, &priorities, |c| c.load, weight(Priority::Critical));
        }
    }
}
