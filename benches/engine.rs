//! Engine throughput: trivial events through the (time, sequence) queue.
//! Issue target: at least 10 million events per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kubesim::engine::{EventQueue, rng_stream};
use rand::RngExt;

fn engine(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(N));
    // A steady state of 1000 pending events, each handler scheduling one more at a
    // random future time — the shape of a busy simulation.
    g.bench_function("schedule_pop_1M_events", |b| {
        b.iter(|| {
            let mut rng = rng_stream(1, "bench");
            let mut q: EventQueue<u32> = EventQueue::new();
            for i in 0..1000 {
                q.schedule(rng.random_range(0..1_000_000), i);
            }
            let mut handled = 0u64;
            while let Some((t, e)) = q.pop() {
                handled += 1;
                if handled + (q.len() as u64) < N {
                    q.schedule(t + rng.random_range(1..1_000_000), e);
                }
            }
            handled
        })
    });
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
