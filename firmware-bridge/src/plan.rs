//! Read planning: the fewest Modbus reads that cover a set of points (pure).
//!
//! Points of the same kind are merged into one request when they touch or overlap, or when the
//! hole between them is at most `max_gap` addresses (reading a few unused registers is cheaper
//! than another round trip), as long as the request stays within the protocol limits.

use crate::map::{Kind, Point};

/// Most registers one read may return (Modbus application protocol, FC 3 and 4).
pub const MAX_REGISTERS_PER_READ: u16 = 125;
/// Most bits one read may return (FC 1 and 2).
pub const MAX_BITS_PER_READ: u16 = 2000;

/// Planner settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Largest hole (unused addresses) bridged inside one request.
    pub max_gap: u16,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions { max_gap: 8 }
    }
}

/// One read request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadRequest {
    /// Data table.
    pub kind: Kind,
    /// First address.
    pub start: u16,
    /// Number of bits or registers.
    pub count: u16,
}

impl ReadRequest {
    /// Offset of `point` inside this request when the request covers it entirely.
    pub fn offset_of(&self, point: &Point) -> Option<usize> {
        let (start, end) = (u32::from(self.start), u32::from(self.start) + u32::from(self.count));
        let p = u32::from(point.address);
        (point.kind == self.kind && p >= start && p + u32::from(point.width()) <= end).then(|| (p - start) as usize)
    }
}

/// Protocol limit for one read of `kind`.
pub fn limit(kind: Kind) -> u16 {
    if kind.is_bits() {
        MAX_BITS_PER_READ
    } else {
        MAX_REGISTERS_PER_READ
    }
}

/// Plans the reads for `points`, sorted by kind then address.
pub fn plan_reads<'a>(points: impl IntoIterator<Item = &'a Point>, options: PlanOptions) -> Vec<ReadRequest> {
    // (kind, start, end exclusive)
    let mut spans: Vec<(Kind, u32, u32)> = points
        .into_iter()
        .map(|p| (p.kind, u32::from(p.address), u32::from(p.address) + u32::from(p.width())))
        .collect();
    spans.sort_unstable();
    let mut out = Vec::new();
    let mut cur: Option<(Kind, u32, u32)> = None;
    for (kind, start, end) in spans {
        match &mut cur {
            Some((k, s, e))
                if *k == kind
                    && start <= *e + u32::from(options.max_gap)
                    && end.max(*e) - *s <= u32::from(limit(kind)) =>
            {
                *e = end.max(*e);
            }
            _ => {
                if let Some(done) = cur.take() {
                    out.push(request(done));
                }
                cur = Some((kind, start, end));
            }
        }
    }
    out.extend(cur.map(request));
    out
}

fn request((kind, start, end): (Kind, u32, u32)) -> ReadRequest {
    // Points are validated to end at or before 65536 and to be at most 2 wide, so these fit.
    ReadRequest { kind, start: start as u16, count: (end - start) as u16 }
}

/// The request covering `point`, and the point's offset inside it.
pub fn locate(requests: &[ReadRequest], point: &Point) -> Option<(usize, usize)> {
    requests.iter().enumerate().find_map(|(i, r)| r.offset_of(point).map(|o| (i, o)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::map::{DataType, WordOrder};

    fn pt(kind: Kind, address: u16, data_type: DataType) -> Point {
        Point {
            name: format!("p{address}"),
            kind,
            address,
            data_type,
            word_order: WordOrder::Big,
            bit: None,
            scale: 1.0,
            offset: 0.0,
            unit: String::new(),
            writable: false,
        }
    }

    #[test]
    fn merges_within_gap_and_splits_kinds() {
        let h = Kind::HoldingRegister;
        let pts = [
            pt(h, 3, DataType::U16),
            pt(h, 5, DataType::U16),
            pt(h, 8, DataType::U32),
            pt(h, 18, DataType::U16),
            pt(h, 29, DataType::U16),
            pt(Kind::Coil, 0, DataType::Bool),
        ];
        let plan = plan_reads(&pts, PlanOptions::default());
        assert_eq!(
            plan,
            [
                ReadRequest { kind: Kind::Coil, start: 0, count: 1 },
                ReadRequest { kind: h, start: 3, count: 16 },
                ReadRequest { kind: h, start: 29, count: 1 },
            ]
        );
        let plan = plan_reads(&pts[..2], PlanOptions { max_gap: 0 });
        assert_eq!(plan.len(), 2);
        assert_eq!(locate(&plan, &pts[1]), Some((1, 0)));
    }

    #[test]
    fn respects_register_limit() {
        let pts: Vec<_> = (0..300).map(|a| pt(Kind::InputRegister, a, DataType::U16)).collect();
        let plan = plan_reads(&pts, PlanOptions::default());
        assert_eq!(plan.iter().map(|r| r.count).collect::<Vec<_>>(), [125, 125, 50]);
    }

    fn any_point() -> impl Strategy<Value = Point> {
        let kind = prop_oneof![
            Just(Kind::Coil),
            Just(Kind::DiscreteInput),
            Just(Kind::InputRegister),
            Just(Kind::HoldingRegister)
        ];
        let ty = prop_oneof![Just(DataType::U16), Just(DataType::U32), Just(DataType::Bool)];
        // Cluster addresses so merging and limits both get exercised; stay below 65535 so 32-bit fits.
        let addr = prop_oneof![0u16..300, 0u16..5000, 65000u16..65534];
        (kind, addr, ty).prop_map(|(kind, a, ty)| pt(kind, a, if kind.is_bits() { DataType::Bool } else { ty }))
    }

    proptest! {
        #[test]
        fn plan_covers_every_point_within_limits(points in proptest::collection::vec(any_point(), 0..200),
                                                 max_gap in 0u16..40) {
            let plan = plan_reads(&points, PlanOptions { max_gap });
            for r in &plan {
                prop_assert!(r.count >= 1 && r.count <= limit(r.kind), "{r:?}");
                prop_assert!(u32::from(r.start) + u32::from(r.count) <= 65536);
                // Both ends of every request belong to a point: nothing read for nothing.
                let end = r.start as u32 + r.count as u32;
                prop_assert!(points.iter().any(|p| p.kind == r.kind && p.address == r.start));
                let ends_here = |p: &Point| p.kind == r.kind && u32::from(p.address) + u32::from(p.width()) == end;
                prop_assert!(points.iter().any(ends_here));
            }
            for p in &points {
                prop_assert!(locate(&plan, p).is_some(), "{p:?} not covered by {plan:?}");
            }
            // Neighbouring requests of one kind could not have been merged: hole too wide, or limit reached.
            for w in plan.windows(2) {
                if w[0].kind == w[1].kind {
                    let gap = i64::from(w[1].start) - (i64::from(w[0].start) + i64::from(w[0].count));
                    let full = i64::from(w[0].count) + gap + 2 > i64::from(limit(w[0].kind));
                    prop_assert!(gap > i64::from(max_gap) || full, "could have merged {w:?}");
                }
            }
            prop_assert!(plan.len() <= points.len());
        }
    }
}
