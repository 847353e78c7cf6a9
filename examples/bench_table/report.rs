//! What every row group shares: the command line, how a cell is timed, and
//! the Markdown report with its ratio columns, geometric means and bars.
//!
//! A row group (one file beside this one) builds a [`Group`]: its columns
//! (ours first, then the peers), and one [`Row`] per workload, each cell timed
//! with [`measure`]. The report does the rest.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The command line: `[--quick] [--filter <substring>]`.
pub struct Config {
    /// Smaller counts and one run per cell, for a check under a minute.
    pub quick: bool,
    /// Runs per cell; the median is reported.
    pub runs: usize,
    /// Only rows whose `group/row` name contains this run.
    filter: Option<String>,
    /// Longest a single run of one cell may take: a slower cell runs fewer
    /// operations (and says so), so one pathological peer cannot eat the
    /// time limit.
    pub run_budget: Duration,
    /// When the program started, for progress lines.
    pub started: Instant,
}

impl Config {
    pub fn from_args() -> Result<Config, String> {
        let mut quick = false;
        let mut filter = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => quick = true,
                "--filter" => {
                    filter = Some(args.next().ok_or("--filter needs a substring")?);
                }
                // `cargo bench` passes this to harness = false targets.
                "--bench" => {}
                other => {
                    return Err(format!(
                        "unknown argument {other:?}\n\
                         usage: bench_table [--quick] [--filter <substring of group/row>]"
                    ))
                }
            }
        }
        Ok(Config {
            quick,
            runs: if quick { 1 } else { 3 },
            filter,
            run_budget: if quick {
                Duration::from_millis(250)
            } else {
                Duration::from_secs(2)
            },
            started: Instant::now(),
        })
    }

    /// Should row `row` of group `group` run?
    pub fn wants(&self, group: &str, row: &str) -> bool {
        self.filter
            .as_deref()
            .is_none_or(|f| format!("{group}/{row}").contains(f))
    }
}

/// One timed cell: nanoseconds per operation, median of the runs.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    pub ns: f64,
    /// Ran fewer operations than the workload specifies, to fit
    /// [`Config::run_budget`].
    pub reduced: bool,
}

/// Times one cell. `run(n)` performs the workload with `n` operations and
/// returns its wall time, or `None` if this implementation cannot run it.
///
/// A probe run of 1/50 of `ops` warms up and estimates the cost; a cell whose
/// full run would exceed the budget runs proportionally fewer operations
/// (at least the probe's). Then `cfg.runs` runs, median.
pub fn measure(
    cfg: &Config,
    ops: usize,
    mut run: impl FnMut(usize) -> Option<Duration>,
) -> Option<Cell> {
    let probe = (ops / 50).max(1_000).min(ops);
    let t = run(probe)?;
    let estimate = t.as_secs_f64() * ops as f64 / probe as f64;
    let budget = cfg.run_budget.as_secs_f64();
    let n = if estimate > budget {
        ((ops as f64 * budget / estimate) as usize).max(probe)
    } else {
        ops
    };
    let mut ns: Vec<f64> = (0..cfg.runs)
        .map(|_| run(n).map(|t| t.as_nanos() as f64 / n as f64))
        .collect::<Option<_>>()?;
    ns.sort_by(f64::total_cmp);
    Some(Cell {
        ns: ns[ns.len() / 2],
        reduced: n < ops,
    })
}

/// A set of rows with a performance bar.
pub struct Class {
    pub name: &'static str,
    /// Which rows: for the summary.
    pub description: &'static str,
    /// Each cell: ours / reference column at most this.
    pub cell_max_vs_reference: f64,
    /// Geometric means over the class: (against, at most), `against` being
    /// a column title or [`BEST_PEER`].
    pub geomean_bars: &'static [(&'static str, f64)],
}

/// In [`Class::geomean_bars`]: the fastest peer of each row.
pub const BEST_PEER: &str = "best peer";

/// One workload: our cell and the peers', in the group's column order.
pub struct Row {
    pub name: String,
    pub class: Option<&'static Class>,
    /// `cells[0]` is ours; `None`: the implementation lacks the flavor.
    pub cells: Vec<Option<Cell>>,
}

impl Row {
    fn ours(&self) -> Option<f64> {
        self.cells[0].map(|c| c.ns)
    }

    /// The fastest peer: (column index, ns).
    fn best_peer(&self) -> Option<(usize, f64)> {
        self.cells
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(i, c)| c.map(|c| (i, c.ns)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn ratio_vs(&self, column: usize) -> Option<f64> {
        Some(self.ours()? / self.cells[column]?.ns)
    }

    fn ratio_vs_best(&self) -> Option<f64> {
        Some(self.ours()? / self.best_peer()?.1)
    }
}

/// One table of the report.
pub struct Group {
    /// Short name, the first part of `--filter`'s `group/row`.
    pub name: &'static str,
    pub title: String,
    /// Printed under the title: counts, runs, units.
    pub notes: String,
    /// Column titles; the first is ours.
    pub columns: Vec<&'static str>,
    /// The peer each cell is held against (its own ratio column).
    pub reference: Option<&'static str>,
    pub unit: &'static str,
    pub rows: Vec<Row>,
}

impl Group {
    fn column(&self, title: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == title)
    }

    fn ratio_vs(&self, row: &Row, against: &str) -> Option<f64> {
        if against == BEST_PEER {
            row.ratio_vs_best()
        } else {
            row.ratio_vs(self.column(against)?)
        }
    }

    /// The row's cell bar: `Some(true)` met, `Some(false)` missed.
    fn cell_bar(&self, row: &Row) -> Option<(bool, f64, &'static Class)> {
        let class = row.class?;
        let r = row.ratio_vs(self.column(self.reference?)?)?;
        Some((r <= class.cell_max_vs_reference, r, class))
    }

    /// The report of this group as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### {} (`--filter {}`)\n\n{}\n",
            self.title, self.name, self.notes
        );
        let mut header = vec!["row".to_string()];
        header.extend(self.columns.iter().map(|c| format!("{c} ({})", self.unit)));
        header.push("best peer".into());
        header.push("ratio".into());
        if let Some(r) = self.reference {
            header.push(format!("vs {r}"));
        }
        header.push("bar".into());
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let align: Vec<&str> = header
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "|{}|", align.join("|"));
        for row in &self.rows {
            let mut line = vec![row.name.clone()];
            line.extend(row.cells.iter().map(|c| match c {
                Some(c) => format!("{}{}", fmt_ns(c.ns), if c.reduced { "†" } else { "" }),
                None => "–".into(),
            }));
            line.push(
                row.best_peer()
                    .map_or("–".into(), |(i, _)| self.columns[i].to_string()),
            );
            line.push(fmt_ratio(row.ratio_vs_best()));
            if let Some(r) = self.reference {
                line.push(fmt_ratio(self.column(r).and_then(|i| row.ratio_vs(i))));
            }
            line.push(match self.cell_bar(row) {
                Some((true, _, c)) => format!("ok ({})", c.name),
                Some((false, _, c)) => format!(
                    "**MISS** ({}: > {:.2}x {})",
                    c.name,
                    c.cell_max_vs_reference,
                    self.reference.unwrap_or("")
                ),
                None => String::new(),
            });
            let _ = writeln!(out, "| {} |", line.join(" | "));
        }
        if self
            .rows
            .iter()
            .flat_map(|r| &r.cells)
            .flatten()
            .any(|c| c.reduced)
        {
            let _ = writeln!(
                out,
                "\n† ran fewer operations than specified, to keep one run under the per-run \
                 budget; the figure is per operation of that shorter run."
            );
        }
        out.push_str(&self.summary());
        out
    }

    /// Geometric means per class, and which bars are met.
    fn summary(&self) -> String {
        let mut classes: Vec<&'static Class> = Vec::new();
        for c in self.rows.iter().filter_map(|r| r.class) {
            if !classes.iter().any(|k| std::ptr::eq(*k, c)) {
                classes.push(c);
            }
        }
        let mut out = String::new();
        for class in classes {
            let rows: Vec<&Row> = self
                .rows
                .iter()
                .filter(|r| r.class.is_some_and(|c| std::ptr::eq(c, class)))
                .collect();
            let _ = writeln!(
                out,
                "\n**{}** ({}; {} rows)\n",
                class.name,
                class.description,
                rows.len()
            );
            let mut against: Vec<&str> = vec![BEST_PEER];
            against.extend(self.columns.iter().skip(1));
            for a in against {
                let ratios: Vec<f64> = rows.iter().filter_map(|r| self.ratio_vs(r, a)).collect();
                if ratios.is_empty() {
                    continue;
                }
                let g = geomean(&ratios);
                let bar = class.geomean_bars.iter().find(|(b, _)| *b == a).map_or(
                    String::new(),
                    |(_, max)| {
                        let verdict = if g <= *max { "met" } else { "**MISSED**" };
                        format!(" — bar ≤ {max:.2}: {verdict}")
                    },
                );
                let partial = if ratios.len() < rows.len() {
                    format!(" (over the {} rows it has)", ratios.len())
                } else {
                    String::new()
                };
                let _ = writeln!(out, "- geomean subinterp / {a}: {g:.3}x{partial}{bar}");
            }
            if let Some(reference) = self.reference {
                let missed: Vec<String> = rows
                    .iter()
                    .filter_map(|r| match self.cell_bar(r) {
                        Some((false, ratio, _)) => Some(format!("{} ({ratio:.2}x)", r.name)),
                        _ => None,
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "- each cell ≤ {:.2}x {reference}: {}",
                    class.cell_max_vs_reference,
                    if missed.is_empty() {
                        "met".to_string()
                    } else {
                        format!("**MISSED** by {}", missed.join(", "))
                    }
                );
            }
        }
        out
    }
}

pub fn geomean(xs: &[f64]) -> f64 {
    (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 100.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{r:.2}x"))
}

/// Prints progress to stderr, so stdout stays the Markdown report.
pub fn progress(cfg: &Config, what: &str, cell: Option<Cell>) {
    let v = cell.map_or("–".into(), |c| {
        format!("{} ns{}", fmt_ns(c.ns), if c.reduced { " †" } else { "" })
    });
    eprintln!("[{:6.1}s] {what}: {v}", cfg.started.elapsed().as_secs_f64());
}
