//! Planning: estimate every file, split files that would dominate, take this shard's part, and order
//! batches longest-first (LPT). Pure and deterministic: every matrix job computes the same plan.

use super::model::{Batch, Part, Shard, SplitMode, TestFile};
use super::timings::Timings;

/// What the planner needs to know.
pub struct PlanInput<'a> {
    pub files: &'a [TestFile],
    pub timings: &'a Timings,
    pub workers: usize,
    pub shard: Option<Shard>,
    pub split: SplitMode,
    /// Whether one process may run several whole files (pytest, go, `{files}`); PHPUnit cannot.
    pub multi_file: bool,
    /// Seconds a test process costs before its first test (start-up, collection). Splitting pays it
    /// once more per piece, so only work well above it is split, and small files share a process.
    pub overhead: f64,
}

/// The plan for this job.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Longest first; workers take them in this order.
    pub batches: Vec<Batch>,
    /// Predicted total seconds of this job's batches.
    pub expected_total: f64,
    /// The best makespan possible for this job: max(total / workers, longest single case).
    pub ideal_makespan: f64,
    /// Whether the estimates came from earlier reports.
    pub informed: bool,
}

/// A unit before batching: part of one file with its estimate.
#[derive(Debug, Clone)]
struct Unit {
    part: Part,
    expected: f64,
    /// The longest case inside (what no split can go below).
    longest_case: f64,
    /// Whether the estimate comes from timings of this file (else it is a guess from its case count).
    known: bool,
}

/// Seconds assumed per test case when no earlier report knows any file: files with more cases
/// are assumed longer, which is the best guess there is before the first report.
const UNKNOWN_CASE_SECONDS: f64 = 0.1;

/// Builds the plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let estimates = Estimates::new(input.files, input.timings);
    let mut units: Vec<Unit> = (0..input.files.len()).map(|i| estimates.whole(i)).collect();

    // Shards first, from inputs every job shares (files, timings, N), never from local core counts.
    if let Some(shard) = input.shard.filter(|s| s.total > 1) {
        let total: f64 = units.iter().map(|u| u.expected).sum();
        // Overhead 0 here: it is measured locally and differs between jobs, and the shard split must
        // come out the same in every job.
        units = split_units(units, total / f64::from(shard.total), input.split, 0.0, &estimates);
        let bins = lpt_bins(&units, shard.total as usize);
        let mine = &bins[(shard.index - 1) as usize];
        units = mine.iter().map(|&i| units[i].clone()).collect();
    }

    let workers = input.workers.max(1);
    let total: f64 = units.iter().map(|u| u.expected).sum();
    let per_worker = total / workers as f64;
    let informed = !input.timings.is_empty();
    let batches = if informed && input.multi_file && input.split == SplitMode::Auto {
        // Known times and a tool that runs any mix of tests in one process: split whatever is
        // big into single cases and pack everything into one batch per worker, longest first.
        // Start-up is then paid once per worker, which is what makes small suites worth it.
        let units = split_units(units, per_worker, SplitMode::Auto, 0.0, &estimates);
        let units = units
            .into_iter()
            .flat_map(|u| if u.expected > per_worker / 8.0 { into_cases(u, &estimates) } else { vec![u] })
            .collect();
        pack_units(units, workers, input.overhead)
    } else {
        if workers > 1 || input.split == SplitMode::Case {
            units = split_units(units, per_worker, input.split, input.overhead, &estimates);
        }
        batch_units(units, per_worker, workers, input.multi_file, input.overhead)
    };
    let longest_case = estimates.longest_case();
    Plan { batches, expected_total: total, ideal_makespan: per_worker.max(longest_case), informed }
}

/// A unit cut into one unit per case.
fn into_cases(unit: Unit, est: &Estimates<'_>) -> Vec<Unit> {
    let cases = est.cases_of(&unit.part);
    if cases.len() < 2 {
        return vec![unit];
    }
    let seconds = &est.case_seconds[unit.part.file];
    cases.into_iter().map(|c| case_unit(unit.part.file, vec![c], seconds[c], est)).collect()
}

/// Longest-first into `bins` batches, one per worker. Parts of the same file in a bin are joined
/// (cases in file order), so a bin runs each file's cases together.
fn pack_units(units: Vec<Unit>, bins: usize, overhead: f64) -> Vec<Batch> {
    let assignment = lpt_bins(&units, bins);
    let mut batches = Vec::new();
    for bin in assignment.into_iter().filter(|b| !b.is_empty()) {
        let mut parts: Vec<Part> = Vec::new();
        let mut expected = overhead;
        for i in bin {
            let unit = &units[i];
            expected += unit.expected;
            match (parts.iter_mut().find(|p| p.file == unit.part.file), &unit.part.cases) {
                (Some(existing), Some(cases)) => {
                    if let Some(have) = existing.cases.as_mut() {
                        have.extend(cases);
                    }
                }
                _ => parts.push(unit.part.clone()),
            }
        }
        batches.push(Batch { id: 0, parts, expected });
    }
    finish_batches(batches)
}

/// Per-file and per-case estimates. Unknown files get the mean of known files; unknown cases the
/// file's mean per case.
struct Estimates<'a> {
    files: &'a [TestFile],
    file_seconds: Vec<f64>,
    case_seconds: Vec<Vec<f64>>,
    /// Per file: whether earlier timings knew it.
    known: Vec<bool>,
}

impl<'a> Estimates<'a> {
    fn new(files: &'a [TestFile], timings: &Timings) -> Self {
        let known: Vec<f64> = files.iter().filter_map(|f| timings.file(&f.path)).collect();
        let mean_file = (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64);
        let mut file_seconds = Vec::with_capacity(files.len());
        let mut case_seconds = Vec::with_capacity(files.len());
        for file in files {
            let known_cases: Vec<Option<f64>> =
                file.cases.iter().map(|c| timings.case(&file.path, c)).collect();
            let guess = mean_file.unwrap_or(file.cases.len().max(1) as f64 * UNKNOWN_CASE_SECONDS);
            let file_total = timings.file(&file.path).unwrap_or(guess);
            let known_sum: f64 = known_cases.iter().flatten().sum();
            let unknown = known_cases.iter().filter(|c| c.is_none()).count();
            let fill = if unknown == 0 {
                0.0
            } else {
                ((file_total - known_sum).max(0.0) / unknown as f64)
                    .max(file_total / file.cases.len().max(1) as f64 * 0.1)
            };
            let cases: Vec<f64> = known_cases.iter().map(|c| c.unwrap_or(fill)).collect();
            let total =
                if cases.is_empty() { file_total } else { cases.iter().sum::<f64>().max(f64::EPSILON) };
            file_seconds.push(total);
            case_seconds.push(cases);
        }
        let known = files.iter().map(|f| timings.file(&f.path).is_some()).collect();
        Estimates { files, file_seconds, case_seconds, known }
    }

    /// The longest single case (or whole file without a listing): no plan can finish before it.
    fn longest_case(&self) -> f64 {
        (0..self.files.len()).map(|f| self.whole(f).longest_case).fold(0.0, f64::max)
    }

    fn whole(&self, file: usize) -> Unit {
        let longest = self.case_seconds[file].iter().copied().fold(0.0, f64::max);
        let expected = self.file_seconds[file];
        Unit {
            part: Part { file, cases: None },
            expected,
            longest_case: if longest > 0.0 { longest } else { expected },
            known: self.known[file],
        }
    }

    fn cases_of(&self, part: &Part) -> Vec<usize> {
        match &part.cases {
            Some(cases) => cases.clone(),
            None => (0..self.files[part.file].cases.len()).collect(),
        }
    }
}

/// Splits units whose estimate is too large for `share` (one worker's or shard's fair share) into
/// runs of consecutive cases, keeping the file's order inside each run.
fn split_units(
    units: Vec<Unit>,
    share: f64,
    mode: SplitMode,
    overhead: f64,
    est: &Estimates<'_>,
) -> Vec<Unit> {
    let mut out = Vec::with_capacity(units.len());
    for unit in units {
        let cases = est.cases_of(&unit.part);
        let target = match mode {
            SplitMode::File => f64::INFINITY,
            SplitMode::Case => 0.0,
            // A unit above a third of the share would decide the makespan; pieces of a quarter
            // leave the longest-first queue room to even out. A piece must still be worth its
            // own process start-up.
            SplitMode::Auto
                if unit.known && unit.expected > share / 3.0 && unit.expected > 2.0 * overhead =>
            {
                (share / 4.0).max(2.0 * overhead)
            }
            // A guessed estimate (no timings for the file) can be off several times over, and the
            // piece a worker takes last decides the makespan: cut it twice as fine, so the queue's
            // tail is small pieces that even out whatever the guess got wrong.
            SplitMode::Auto
                if !unit.known && unit.expected > share / 6.0 && unit.expected > 2.0 * overhead =>
            {
                (share / 8.0).max(2.0 * overhead)
            }
            SplitMode::Auto => f64::INFINITY,
        };
        if cases.len() < 2 || unit.expected <= target {
            out.push(unit);
            continue;
        }
        let seconds = &est.case_seconds[unit.part.file];
        let mut run: Vec<usize> = Vec::new();
        let mut run_seconds = 0.0;
        for case in cases {
            let s = seconds[case];
            if !run.is_empty() && run_seconds + s > target {
                out.push(case_unit(unit.part.file, std::mem::take(&mut run), run_seconds, est));
                run_seconds = 0.0;
            }
            run.push(case);
            run_seconds += s;
        }
        if !run.is_empty() {
            out.push(case_unit(unit.part.file, run, run_seconds, est));
        }
    }
    out
}

fn case_unit(file: usize, cases: Vec<usize>, expected: f64, est: &Estimates<'_>) -> Unit {
    let longest = cases.iter().map(|&c| est.case_seconds[file][c]).fold(0.0, f64::max);
    Unit { part: Part { file, cases: Some(cases) }, expected, longest_case: longest, known: est.known[file] }
}

/// Longest-processing-time-first into `bins` bins: unit indices per bin. Ties break on the
/// file index so every job gets the same answer.
fn lpt_bins(units: &[Unit], bins: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| {
        units[b]
            .expected
            .total_cmp(&units[a].expected)
            .then(units[a].part.file.cmp(&units[b].part.file))
            .then(a.cmp(&b))
    });
    let mut loads = vec![0.0f64; bins];
    let mut out = vec![Vec::new(); bins];
    for i in order {
        let (bin, _) = loads
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1).then(a.0.cmp(&b.0)))
            .expect("at least one bin");
        loads[bin] += units[i].expected;
        out[bin].push(i);
    }
    out
}

/// Turns units into batches, longest first. Small whole files share a process where the preset
/// allows it, so start-up is paid per batch rather than per file.
fn batch_units(
    units: Vec<Unit>,
    per_worker: f64,
    workers: usize,
    multi_file: bool,
    overhead: f64,
) -> Vec<Batch> {
    let group_limit = (per_worker / 4.0).max(2.0 * overhead);
    let (small, large): (Vec<Unit>, Vec<Unit>) =
        units.into_iter().partition(|u| multi_file && u.part.cases.is_none() && u.expected < group_limit);
    let mut batches: Vec<Batch> =
        large.into_iter().map(|u| Batch { id: 0, parts: vec![u.part], expected: u.expected }).collect();
    let small_total: f64 = small.iter().map(|u| u.expected).sum();
    if !small.is_empty() {
        // Enough groups that none exceeds the limit, rounded up to a multiple of the workers so
        // the last round has no lone batch, and filled longest-first so they come out even.
        let groups = ((small_total / group_limit).ceil() as usize).max(1).div_ceil(workers) * workers;
        let groups = groups.min(small.len());
        for bin in lpt_bins(&small, groups).into_iter().filter(|b| !b.is_empty()) {
            let expected = bin.iter().map(|&i| small[i].expected).sum();
            batches.push(Batch {
                id: 0,
                parts: bin.iter().map(|&i| small[i].part.clone()).collect(),
                expected,
            });
        }
    }
    for batch in &mut batches {
        batch.expected += overhead;
    }
    finish_batches(batches)
}

/// Orders batches longest first, numbers them, and puts parts and cases in file order.
fn finish_batches(mut batches: Vec<Batch>) -> Vec<Batch> {
    batches.sort_by(|a, b| b.expected.total_cmp(&a.expected));
    for (i, batch) in batches.iter_mut().enumerate() {
        batch.id = i + 1;
        for part in &mut batch.parts {
            if let Some(cases) = part.cases.as_mut() {
                cases.sort_unstable();
            }
        }
        batch.parts.sort_by_key(|p| p.file);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::suite::model::CaseRef;

    fn file(path: &str, cases: usize) -> TestFile {
        TestFile {
            path: path.into(),
            cases: (0..cases)
                .map(|i| CaseRef { id: format!("{path}::t{i}"), classname: None, name: format!("t{i}") })
                .collect(),
        }
    }

    /// What most tests plan with: no timings, no shard, auto splitting, one file per process and no
    /// start-up cost; a test sets what it is about with `PlanInput { ..., ..input(...) }`.
    fn input<'a>(files: &'a [TestFile], timings: &'a Timings, workers: usize) -> PlanInput<'a> {
        PlanInput {
            files,
            timings,
            workers,
            shard: None,
            split: SplitMode::Auto,
            multi_file: false,
            overhead: 0.0,
        }
    }

    /// A JUnit report's times for `files`.
    fn timings_of(xml: &[u8], files: &[TestFile]) -> Timings {
        let report = crate::junit::parse_bytes(xml, "t").unwrap();
        Timings::from_reports(&[report], files, std::path::Path::new("/"))
    }

    fn plan_for(
        files: &[TestFile],
        workers: usize,
        shard: Option<Shard>,
        split: SplitMode,
        multi: bool,
    ) -> Plan {
        plan(&PlanInput { shard, split, multi_file: multi, ..input(files, &Timings::default(), workers) })
    }

    fn covered(files: &[TestFile], batches: &[Batch]) -> Vec<(usize, usize)> {
        let mut all = Vec::new();
        for b in batches {
            for p in &b.parts {
                match &p.cases {
                    Some(cases) => all.extend(cases.iter().map(|&c| (p.file, c))),
                    None => all.extend((0..files[p.file].cases.len().max(1)).map(|c| (p.file, c))),
                }
            }
        }
        all.sort();
        all
    }

    #[test]
    fn shards_cover_everything_once() {
        let files: Vec<TestFile> = (0..23).map(|i| file(&format!("f{i}"), i % 5 + 1)).collect();
        let mut all = Vec::new();
        for k in 1..=4 {
            let p = plan_for(&files, 3, Some(Shard { index: k, total: 4 }), SplitMode::Auto, true);
            all.extend(covered(&files, &p.batches));
        }
        all.sort();
        let mut expected = covered(&files, &plan_for(&files, 1, None, SplitMode::File, false).batches);
        expected.sort();
        assert_eq!(all, expected, "union of shards is the suite, no overlap");
    }

    #[test]
    fn a_dominating_file_is_split_in_order_and_batches_are_longest_first() {
        let files = vec![file("heavy", 8), file("a", 1), file("b", 1)];
        let p = plan_for(&files, 4, None, SplitMode::Auto, false);
        let heavy: Vec<&Batch> = p.batches.iter().filter(|b| b.parts[0].file == 0).collect();
        assert!(heavy.len() > 1, "the heavy file is split: {:?}", p.batches);
        for b in heavy {
            let cases = b.parts[0].cases.as_ref().unwrap();
            assert!(cases.windows(2).all(|w| w[1] == w[0] + 1), "consecutive cases, file order");
        }
        assert!(p.batches.windows(2).all(|w| w[0].expected >= w[1].expected));
    }

    #[test]
    fn file_mode_never_splits_and_case_mode_always_does() {
        let files = vec![file("heavy", 8), file("a", 2)];
        assert_eq!(plan_for(&files, 4, None, SplitMode::File, false).batches.len(), 2);
        assert_eq!(plan_for(&files, 4, None, SplitMode::Case, false).batches.len(), 10);
    }

    #[test]
    fn start_up_cost_keeps_small_work_together() {
        let files = vec![file("heavy", 6), file("a", 1), file("b", 1), file("c", 1)];
        let cheap = plan_for(&files, 2, None, SplitMode::Auto, true);
        let costly =
            plan(&PlanInput { multi_file: true, overhead: 0.5, ..input(&files, &Timings::default(), 2) });
        assert!(
            costly.batches.len() < cheap.batches.len(),
            "{} vs {}",
            costly.batches.len(),
            cheap.batches.len()
        );
    }

    #[test]
    fn with_timings_a_multi_file_tool_gets_one_balanced_batch_per_worker() {
        let mut xml = String::from("<testsuite name=\"s\">");
        for (i, t) in [3.5, 3.0, 3.0, 2.5, 2.5, 2.3].iter().enumerate() {
            xml.push_str(&format!("<testcase name=\"t{i}\" file=\"heavy\" time=\"{t}\"/>"));
        }
        for f in 0..12 {
            xml.push_str(&format!("<testcase name=\"t0\" file=\"light{f}\" time=\"0.6\"/>"));
        }
        xml.push_str("</testsuite>");
        let mut files = vec![file("heavy", 6)];
        files.extend((0..12).map(|f| file(&format!("light{f}"), 1)));
        let timings = timings_of(xml.as_bytes(), &files);
        let p = plan(&PlanInput { multi_file: true, overhead: 0.4, ..input(&files, &timings, 4) });
        assert_eq!(p.batches.len(), 4);
        assert!((p.ideal_makespan - 6.0).abs() < 1e-9);
        let worst = p.batches.iter().map(|b| b.expected - 0.4).fold(0.0, f64::max);
        assert!(worst <= 6.0 * 1.05, "packed makespan {worst}");
        assert_eq!(covered(&files, &p.batches).len(), 18);
    }

    #[test]
    fn shard_plans_do_not_depend_on_local_start_up_cost() {
        let files: Vec<TestFile> = (0..9).map(|i| file(&format!("f{i}"), i + 1)).collect();
        let mut all = Vec::new();
        for (k, overhead) in [(1, 0.1), (2, 2.5)] {
            let p = plan(&PlanInput {
                shard: Some(Shard { index: k, total: 2 }),
                multi_file: true,
                overhead,
                ..input(&files, &Timings::default(), 2)
            });
            all.extend(covered(&files, &p.batches));
        }
        all.sort();
        let mut expected = covered(&files, &plan_for(&files, 1, None, SplitMode::File, false).batches);
        expected.sort();
        assert_eq!(all, expected);
    }

    #[test]
    fn small_files_share_a_process_when_the_preset_allows() {
        let files: Vec<TestFile> = (0..100).map(|i| TestFile::whole(format!("f{i}"))).collect();
        let grouped = plan_for(&files, 2, None, SplitMode::Auto, true);
        assert!(grouped.batches.len() <= 10, "{} batches", grouped.batches.len());
        assert_eq!(grouped.batches.len() % 2, 0, "a multiple of the workers: no lone batch at the end");
        let many: Vec<TestFile> = (0..2000).map(|i| TestFile::whole(format!("f{i}"))).collect();
        assert_eq!(plan_for(&many, 4, None, SplitMode::Auto, true).batches.len(), 16);
        let single = plan_for(&files, 2, None, SplitMode::Auto, false);
        assert_eq!(single.batches.len(), 100);
    }

    #[test]
    fn guessed_estimates_are_cut_finer_than_known_ones_in_file_order() {
        let files = vec![file("big", 24), file("a", 4), file("b", 4), file("c", 4)];
        let guessed = plan_for(&files, 2, None, SplitMode::Auto, false);
        let mut xml = String::from("<testsuite name=\"s\">");
        for (f, n) in [("big", 24), ("a", 4), ("b", 4), ("c", 4)] {
            for i in 0..n {
                xml.push_str(&format!("<testcase name=\"t{i}\" file=\"{f}\" time=\"0.1\"/>"));
            }
        }
        xml.push_str("</testsuite>");
        let timings = timings_of(xml.as_bytes(), &files);
        let known = plan(&input(&files, &timings, 2));
        let pieces = |p: &Plan| p.batches.iter().filter(|b| b.parts[0].file == 0).count();
        assert!(
            pieces(&guessed) > pieces(&known),
            "guessed {} pieces, known {}",
            pieces(&guessed),
            pieces(&known)
        );
        let largest = guessed.batches.iter().map(|b| b.expected).fold(0.0, f64::max);
        assert!(
            largest <= guessed.expected_total / 2.0 / 8.0 + 1e-9,
            "no guessed piece above an eighth of a worker's share: {largest}"
        );
        for b in guessed.batches.iter().filter(|b| b.parts[0].file == 0) {
            let cases = b.parts[0].cases.as_ref().unwrap();
            assert!(cases.windows(2).all(|w| w[1] == w[0] + 1), "consecutive cases, file order");
        }
        assert_eq!(
            covered(&files, &guessed.batches),
            covered(&files, &known.batches),
            "the same tests, once each"
        );
    }

    #[test]
    fn timings_drive_the_estimates_and_unknown_files_get_the_mean() {
        let files = vec![TestFile::whole("slow"), TestFile::whole("fast"), TestFile::whole("new")];
        let timings = timings_of(
            br#"<testsuite name="s"><testcase name="x" file="slow" time="9"/><testcase name="y" file="fast" time="1"/></testsuite>"#,
            &files,
        );
        let p = plan(&PlanInput { split: SplitMode::File, ..input(&files, &timings, 2) });
        assert!(p.informed);
        assert_eq!(p.batches[0].parts[0].file, 0);
        assert_eq!(p.batches[1].expected, 5.0, "the new file gets the mean");
        assert_eq!(p.ideal_makespan, 9.0);
    }
}
