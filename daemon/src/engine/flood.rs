//! Flood control: token buckets per device and per location, so one stuck remote cannot bury a department. Pure:
//! the caller passes the time.

use std::collections::HashMap;

/// A rate: so many requests per minute on average, and up to `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests per minute, on average.
    pub per_minute: u32,
    /// Requests allowed at once after a quiet spell.
    pub burst: u32,
}

/// One request's cost in bucket units: a bucket gains `per_minute` units per millisecond, so one request a minute
/// refills in exactly a minute.
const COST: i64 = 60_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    units: i64,
    at_ms: i64,
}

impl Bucket {
    fn level(&self, rate: Rate, now_ms: i64) -> i64 {
        let gained = (now_ms - self.at_ms).max(0).saturating_mul(i64::from(rate.per_minute));
        self.units.saturating_add(gained).min(i64::from(rate.burst) * COST)
    }
}

/// The buckets of every device and location that asked recently.
#[derive(Debug, Default)]
pub struct Flood {
    devices: HashMap<String, Bucket>,
    locations: HashMap<String, Bucket>,
}

/// Which limit a request ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    /// The device asked too often.
    Device,
    /// The location's devices together asked too often.
    Location,
}

impl Flood {
    /// Takes one request from both the device's and the location's bucket, or neither when either is empty.
    pub fn take(
        &mut self,
        device: &str,
        location: &str,
        limits: (Rate, Rate),
        now: jiff::Timestamp,
    ) -> Result<(), Limited> {
        let (device_rate, location_rate) = limits;
        let now_ms = now.as_millisecond();
        let full = |rate: Rate| Bucket { units: i64::from(rate.burst) * COST, at_ms: now_ms };
        let device_level =
            self.devices.get(device).map_or(i64::from(device_rate.burst) * COST, |b| b.level(device_rate, now_ms));
        let location_level = self
            .locations
            .get(location)
            .map_or(i64::from(location_rate.burst) * COST, |b| b.level(location_rate, now_ms));
        if device_level < COST {
            return Err(Limited::Device);
        }
        if location_level < COST {
            return Err(Limited::Location);
        }
        self.devices.insert(device.to_owned(), Bucket { units: device_level - COST, at_ms: now_ms });
        self.locations.insert(location.to_owned(), Bucket { units: location_level - COST, at_ms: now_ms });
        if self.devices.len() + self.locations.len() > 20_000 {
            // Forget buckets that have refilled: they behave exactly like absent ones.
            self.devices.retain(|_, b| b.level(device_rate, now_ms) < full(device_rate).units);
            self.locations.retain(|_, b| b.level(location_rate, now_ms) < full(location_rate).units);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICE: Rate = Rate { per_minute: 6, burst: 3 };
    const LOCATION: Rate = Rate { per_minute: 12, burst: 5 };

    fn at(ms: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn a_burst_then_the_average_rate() {
        let mut flood = Flood::default();
        for _ in 0..3 {
            assert_eq!(flood.take("tv1", "101", (DEVICE, LOCATION), at(0)), Ok(()));
        }
        assert_eq!(flood.take("tv1", "101", (DEVICE, LOCATION), at(0)), Err(Limited::Device));
        // Six a minute: one more every ten seconds.
        assert_eq!(flood.take("tv1", "101", (DEVICE, LOCATION), at(9_999)), Err(Limited::Device));
        assert_eq!(flood.take("tv1", "101", (DEVICE, LOCATION), at(10_000)), Ok(()));
        assert_eq!(flood.take("tv1", "101", (DEVICE, LOCATION), at(10_000)), Err(Limited::Device));
    }

    #[test]
    fn the_location_limits_its_devices_together_and_a_refusal_costs_nothing() {
        let mut flood = Flood::default();
        for device in ["a", "b"] {
            for _ in 0..2 {
                assert_eq!(flood.take(device, "101", (DEVICE, LOCATION), at(0)), Ok(()));
            }
        }
        assert_eq!(flood.take("c", "101", (DEVICE, LOCATION), at(0)), Ok(()));
        assert_eq!(flood.take("c", "101", (DEVICE, LOCATION), at(0)), Err(Limited::Location));
        // The refused request did not use the device's bucket: c still has two left once the location refills.
        assert_eq!(flood.take("c", "101", (DEVICE, LOCATION), at(5_000)), Ok(()));
        assert_eq!(flood.take("d", "102", (DEVICE, LOCATION), at(0)), Ok(()), "other locations are not affected");
    }
}
