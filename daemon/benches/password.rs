//! Password hashing benchmark: what one PBKDF2-HMAC-SHA256 hash (600,000 iterations, on ring) costs on this machine,
//! which with the hashing cap bounds how many sign-ins per second the gateway checks.
//!
//! Run: `cargo bench -p bellhop --bench password` (knob: BENCH_HASHES, default 10). Every sign-in verifies one hash
//! (an unknown user verifies a decoy, so it costs the same); the cap runs one at a time.

use std::time::Instant;

use bellhop::credentials::password::{hash, verify, CONCURRENT_HASHES, ITERATIONS, WAITING_HASHES};

fn main() {
    let n: u32 = std::env::var("BENCH_HASHES").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let stored = hash("a warm-up password of some length").expect("random source");
    let mut best = f64::MAX;
    let started = Instant::now();
    for _ in 0..n {
        let one = Instant::now();
        assert!(verify("a warm-up password of some length", &stored));
        best = best.min(one.elapsed().as_secs_f64());
    }
    let mean = started.elapsed().as_secs_f64() / f64::from(n);
    println!(
        "pbkdf2-hmac-sha256, {ITERATIONS} iterations: mean {:.1} ms, best {:.1} ms over {n} checks",
        mean * 1e3,
        best * 1e3
    );
    println!(
        "cap: {CONCURRENT_HASHES} at a time, {WAITING_HASHES} waiting: at most {:.1} sign-ins checked per second; a burst \
         beyond {} waiting is answered 503 at once",
        f64::from(CONCURRENT_HASHES as u32) / mean,
        WAITING_HASHES
    );
}
