//! Go's `test/chan` networks running as subinterp tasks: the prime sieve
//! (sieve1.go), power series (powser1.go), and a chain of 10,000 goroutines
//! (goroutines.go), on one interpreter and across interpreters.

use std::future::Future;
use std::time::Duration;
use subinterp::{bounded, Interpreter, Receiver, Runtime, Sender};

fn on_one_interpreter<T: Send + 'static, F: Future<Output = T> + 'static>(
    make: impl FnOnce() -> F + Send + 'static,
) -> T {
    let interp = Interpreter::new().unwrap();
    let t = interp.spawn(make);
    t.join_blocking().unwrap()
}

// --- sieve1.go -------------------------------------------------------------

async fn generate(ch: Sender<u64>) {
    let mut i = 2;
    while ch.send(i).await.is_ok() {
        i += 1;
    }
}

async fn filter(input: Receiver<u64>, out: Sender<u64>, prime: u64) {
    while let Ok(i) = input.recv().await {
        if i % prime != 0 && out.send(i).await.is_err() {
            return;
        }
    }
}

async fn sieve(primes: Sender<u64>) {
    let (tx, mut ch) = bounded(0);
    subinterp::spawn(generate(tx)).detach();
    loop {
        let Ok(prime) = ch.recv().await else { return };
        if primes.send(prime).await.is_err() {
            return;
        }
        let (tx1, ch1) = bounded(0);
        subinterp::spawn(filter(ch, tx1, prime)).detach();
        ch = ch1;
    }
}

fn first_primes(n: usize) -> Vec<u64> {
    let mut v = Vec::new();
    let mut k = 2;
    while v.len() < n {
        if (2..k).take_while(|d| d * d <= k).all(|d| k % d != 0) {
            v.push(k);
        }
        k += 1;
    }
    v
}

#[test]
fn prime_sieve() {
    let got = on_one_interpreter(|| async {
        let (tx, primes) = bounded(0);
        subinterp::spawn(sieve(tx)).detach();
        let mut got = Vec::new();
        for _ in 0..200 {
            got.push(primes.recv().await.unwrap());
        }
        got
    });
    assert_eq!(got, first_primes(200));
}

#[test]
fn prime_sieve_across_interpreters() {
    let rt = Runtime::builder().interpreters(2).build().unwrap();
    let (primes_tx, primes) = bounded(0);
    let rt2 = rt.clone();
    rt.spawn(move || async move {
        let (tx, mut ch) = bounded(0);
        rt2.spawn(move || generate(tx)).detach();
        loop {
            let Ok(prime) = ch.recv().await else { return };
            if primes_tx.send(prime).await.is_err() {
                return;
            }
            let (tx1, ch1) = bounded(0);
            // Placement alternates: consecutive filters sit on different interpreters.
            rt2.spawn(move || filter(ch, tx1, prime)).detach();
            ch = ch1;
        }
    })
    .detach();
    let got: Vec<u64> = (0..100).map(|_| primes.recv_blocking().unwrap()).collect();
    assert_eq!(got, first_primes(100));
    drop(primes);
    rt.shutdown();
}

// --- powser1.go ------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rat {
    num: i64,
    den: i64,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

fn rat(num: i64, den: i64) -> Rat {
    let g = gcd(num, den).max(1);
    let s = if den < 0 { -1 } else { 1 };
    Rat {
        num: s * num / g,
        den: s * den / g,
    }
}

impl Rat {
    fn add(self, o: Rat) -> Rat {
        rat(self.num * o.den + o.num * self.den, self.den * o.den)
    }
    fn mul(self, o: Rat) -> Rat {
        rat(self.num * o.num, self.den * o.den)
    }
}

/// A power series, demand-driven as in powser1.go: the consumer asks on
/// `req`, the producer answers on `dat`.
struct Ps {
    req: Sender<()>,
    dat: Receiver<Rat>,
}

/// The producer's side of a power series.
struct Pd {
    req: Receiver<()>,
    dat: Sender<Rat>,
}

fn mk_ps() -> (Ps, Pd) {
    let (req_tx, req_rx) = bounded(0);
    let (dat_tx, dat_rx) = bounded(0);
    (
        Ps {
            req: req_tx,
            dat: dat_rx,
        },
        Pd {
            req: req_rx,
            dat: dat_tx,
        },
    )
}

impl Ps {
    async fn get(&self) -> Option<Rat> {
        self.req.send(()).await.ok()?;
        self.dat.recv().await.ok()
    }
}

impl Pd {
    /// Waits for a request and answers it; false when the consumer is gone.
    async fn put(&self, f: impl std::future::Future<Output = Option<Rat>>) -> bool {
        if self.req.recv().await.is_err() {
            return false;
        }
        match f.await {
            Some(v) => self.dat.send(v).await.is_ok(),
            None => false,
        }
    }
}

fn go(f: impl Future<Output = ()> + 'static) {
    subinterp::spawn(f).detach();
}

/// 1 + x + x^2 + ...
fn ones() -> Ps {
    let (ps, pd) = mk_ps();
    go(async move { while pd.put(async { Some(rat(1, 1)) }).await {} });
    ps
}

/// The series x.
fn monomial_x() -> Ps {
    let (ps, pd) = mk_ps();
    go(async move {
        let mut i = 0;
        while pd
            .put(async {
                i += 1;
                Some(rat(if i == 2 { 1 } else { 0 }, 1))
            })
            .await
        {}
    });
    ps
}

/// Two consumers of one series, each seeing every term (powser1's split).
/// A reader task fetches terms on demand and queues each for both outputs;
/// one pump per output serves its queue, so one consumer can be served from
/// its queue while a fetch for the other is in flight (the feedback of `exp`
/// needs that, as it needs Go's `dosplit`).
fn split_into(input: Ps, a: Pd, b: Pd) {
    let (want_tx, want_rx) = subinterp::local::unbounded::<()>();
    let (qa_tx, qa) = subinterp::local::unbounded::<Rat>();
    let (qb_tx, qb) = subinterp::local::unbounded::<Rat>();
    go(async move {
        while want_rx.recv().await.is_ok() {
            let Some(v) = input.get().await else { return };
            let a_gone = qa_tx.try_send(v).is_err();
            let b_gone = qb_tx.try_send(v).is_err();
            if a_gone && b_gone {
                return;
            }
        }
    });
    for (out, q) in [(a, qa), (b, qb)] {
        let want = want_tx.clone();
        go(async move {
            while out.req.recv().await.is_ok() {
                let v = match q.try_recv() {
                    Ok(v) => v,
                    Err(_) => {
                        if want.try_send(()).is_err() {
                            return;
                        }
                        let Ok(v) = q.recv().await else { return };
                        v
                    }
                };
                if out.dat.send(v).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn split(input: Ps) -> (Ps, Ps) {
    let (a, pa) = mk_ps();
    let (b, pb) = mk_ps();
    split_into(input, pa, pb);
    (a, b)
}

fn add(u: Ps, v: Ps) -> Ps {
    let (ps, pd) = mk_ps();
    go(async move {
        while pd
            .put(async { Some(u.get().await?.add(v.get().await?)) })
            .await
        {}
    });
    ps
}

fn cmul(c: Rat, u: Ps) -> Ps {
    let (ps, pd) = mk_ps();
    go(async move { while pd.put(async { Some(c.mul(u.get().await?)) }).await {} });
    ps
}

/// c + integral of u.
fn integ(c: Rat, u: Ps) -> Ps {
    let (ps, pd) = mk_ps();
    go(async move {
        if !pd.put(async { Some(c) }).await {
            return;
        }
        let mut i = 0;
        while pd
            .put(async {
                i += 1;
                Some(u.get().await?.mul(rat(1, i)))
            })
            .await
        {}
    });
    ps
}

fn deriv(u: Ps) -> Ps {
    let (ps, pd) = mk_ps();
    go(async move {
        if pd.req.recv().await.is_err() {
            return;
        }
        let Some(_) = u.get().await else { return };
        let Some(first) = u.get().await else { return };
        if pd.dat.send(first).await.is_err() {
            return;
        }
        let mut i = 1;
        while pd
            .put(async {
                i += 1;
                Some(u.get().await?.mul(rat(i, 1)))
            })
            .await
        {}
    });
    ps
}

/// Copies `from` to `to` forever.
fn copy_to(from: Ps, to: Pd) {
    go(async move { while to.put(from.get()).await {} });
}

/// Product of two series, recursively, as powser1's Mul.
fn mul(u: Ps, v: Ps) -> Ps {
    let (ps, pd) = mk_ps();
    go(async move {
        if pd.req.recv().await.is_err() {
            return;
        }
        let (Some(u0), Some(v0)) = (u.get().await, v.get().await) else {
            return;
        };
        if pd.dat.send(u0.mul(v0)).await.is_err() {
            return;
        }
        let (u1, u2) = split(u);
        let (v1, v2) = split(v);
        let w = add(cmul(u0, v1), cmul(v0, u1));
        if !pd.put(w.get()).await {
            return;
        }
        copy_to(add(w, mul(u2, v2)), pd);
    });
    ps
}

/// exp(u) for u with zero constant term: X = 1 + integral(X * u').
fn exp(u: Ps) -> Ps {
    let (x0, px0) = mk_ps();
    let (x1, px1) = mk_ps();
    split_into(integ(rat(1, 1), mul(x0, deriv(u))), px0, px1);
    x1
}

async fn terms(ps: &Ps, n: usize) -> Vec<Rat> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(ps.get().await.unwrap());
    }
    v
}

#[test]
fn power_series() {
    let (squares, integral, e) = on_one_interpreter(|| async {
        // (1/(1-x))^2 = 1 + 2x + 3x^2 + ...
        let squares = terms(&mul(ones(), ones()), 8).await;
        // integral of 1/(1-x) = x + x^2/2 + x^3/3 + ...
        let integral = terms(&integ(rat(0, 1), ones()), 8).await;
        // exp(x) = sum x^n / n!
        let e = terms(&exp(monomial_x()), 8).await;
        (squares, integral, e)
    });
    assert_eq!(squares, (1..=8).map(|n| rat(n, 1)).collect::<Vec<_>>());
    let mut want = vec![rat(0, 1)];
    want.extend((1..8).map(|n| rat(1, n)));
    assert_eq!(integral, want);
    let mut fact = 1;
    let want: Vec<Rat> = (0..8)
        .map(|n| {
            if n > 0 {
                fact *= n;
            }
            rat(1, fact)
        })
        .collect();
    assert_eq!(e, want);
}

// --- goroutines.go ---------------------------------------------------------

const CHAIN: usize = 10_000;

#[test]
fn chain_of_ten_thousand_tasks_on_one_interpreter() {
    let x = on_one_interpreter(|| async {
        let (leftmost_tx, leftmost) = bounded::<usize>(0);
        let mut left = leftmost_tx;
        for _ in 0..CHAIN {
            let (right_tx, right) = bounded::<usize>(0);
            let l = left;
            go(async move {
                let v = right.recv().await.unwrap();
                l.send(v + 1).await.unwrap();
            });
            left = right_tx;
        }
        left.send(0).await.unwrap();
        leftmost.recv().await.unwrap()
    });
    assert_eq!(x, CHAIN);
}

#[test]
fn chain_of_ten_thousand_tasks_across_interpreters() {
    let rt = Runtime::builder().interpreters(2).build().unwrap();
    let (leftmost_tx, leftmost) = bounded::<usize>(0);
    let mut left = leftmost_tx;
    let mut tasks = Vec::with_capacity(CHAIN);
    for i in 0..CHAIN {
        let (right_tx, right) = bounded::<usize>(0);
        let l = left;
        // Neighbours on different interpreters: every hop crosses.
        tasks.push(rt.interpreter(i % 2).spawn(move || async move {
            let v = right.recv().await.unwrap();
            l.send(v + 1).await.unwrap();
        }));
        left = right_tx;
    }
    left.send_blocking(0).unwrap();
    let x = leftmost.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(x, CHAIN);
    for t in tasks {
        t.join_blocking().unwrap();
    }
    let remote: u64 = rt
        .interpreters()
        .iter()
        .map(|i| i.stats().remote_wakes)
        .sum();
    assert!(remote >= CHAIN as u64, "hops did not cross: {remote}");
}
