//! Traffic models and CSV inputs (rate traces, empirical samples).
//!
//! Key decision: CSV rows are checked one by one and a bad row is reported
//! with the CSV file's own line and column and the column name, since that
//! is where the user has to look; the scenario field that named the file is
//! added to the message.

use std::ops::Range;

use toml::Spanned;

use super::fields::check_fields;
use super::{Ctx, Files, InputError, Interpolate, TrafficFile, TrafficKind, line_col};
use crate::time::SimDuration;
use crate::traffic::RateModel;

/// A service's `traffic` table (at `path`, written at `span`) → its rate model.
pub(crate) fn build_traffic(
    t: &TrafficFile,
    span: Range<usize>,
    path: &str,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<RateModel, InputError> {
    let given = [
        ("rate", t.rate.is_some()),
        ("base", t.base.is_some()),
        ("peak", t.peak.is_some()),
        ("start", t.start.is_some()),
        ("rampUp", t.ramp_up.is_some()),
        ("hold", t.hold.is_some()),
        ("rampDown", t.ramp_down.is_some()),
        ("mean", t.mean.is_some()),
        ("amplitude", t.amplitude.is_some()),
        ("period", t.period.is_some()),
        ("peakAt", t.peak_at.is_some()),
        ("points", t.points.is_some()),
        ("interpolate", t.interpolate.is_some()),
        ("file", t.file.is_some()),
        ("timeColumn", t.time_column.is_some()),
        ("rateColumn", t.rate_column.is_some()),
        ("countInterval", t.count_interval.is_some()),
        ("timeScale", t.time_scale.is_some()),
        ("rateScale", t.rate_scale.is_some()),
        ("skip", t.skip.is_some()),
    ];
    let (needed, optional, kind): (&[&str], &[&str], &str) = match t.model {
        TrafficKind::Constant => (&["rate"], &[], "model = \"constant\""),
        TrafficKind::Spike => (
            &["base", "peak", "start", "rampUp", "hold", "rampDown"],
            &[],
            "model = \"spike\"",
        ),
        TrafficKind::Diurnal => (
            &["mean", "amplitude", "period"],
            &["peakAt"],
            "model = \"diurnal\"",
        ),
        TrafficKind::Points => (&["points"], &["interpolate"], "model = \"points\""),
        TrafficKind::Trace => (
            &["file"],
            &[
                "timeColumn",
                "rateColumn",
                "countInterval",
                "timeScale",
                "rateScale",
                "skip",
                "interpolate",
            ],
            "model = \"trace\"",
        ),
    };
    check_fields(&given, needed, optional, kind, span.clone(), path, ctx)?;
    match t.model {
        TrafficKind::Constant => Ok(RateModel::Constant(t.rate.expect("checked").0)),
        TrafficKind::Spike => Ok(RateModel::spike(
            t.base.expect("checked").0,
            t.peak.expect("checked").0,
            secs(t.start),
            secs(t.ramp_up),
            secs(t.hold),
            secs(t.ramp_down),
        )),
        TrafficKind::Diurnal => diurnal(t, span, path, ctx),
        TrafficKind::Points => points(t, span, path, ctx),
        TrafficKind::Trace => trace(t, span, path, ctx, files, hash),
    }
}

/// Seconds of an optional duration (0 when left out).
fn secs(d: Option<super::Dur>) -> f64 {
    d.map_or(0.0, |d| d.0.as_secs_f64())
}

/// `diurnal`: an amplitude at most the mean, a period greater than zero.
fn diurnal(
    t: &TrafficFile,
    span: Range<usize>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<RateModel, InputError> {
    let fail = |m: String| ctx.err(span.clone(), path, m);
    let mean = t.mean.expect("checked").0;
    let amplitude = t.amplitude.expect("checked").0;
    if amplitude > mean {
        return Err(fail(format!(
            "amplitude {amplitude} exceeds mean {mean}: the rate would go negative"
        )));
    }
    let period_s = secs(t.period);
    if period_s <= 0.0 {
        return Err(fail("period must be greater than zero".into()));
    }
    Ok(RateModel::Diurnal {
        mean,
        amplitude,
        period_s,
        peak_at_s: secs(t.peak_at),
    })
}

/// `points`: increasing times, not every rate zero.
fn points(
    t: &TrafficFile,
    span: Range<usize>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<RateModel, InputError> {
    let pts = t.points.as_ref().expect("checked");
    let mut points = Vec::with_capacity(pts.len());
    for (i, p) in pts.iter().enumerate() {
        let at = p.at.0.as_secs_f64();
        if let Some(&(prev, _)) = points.last()
            && at <= prev
        {
            return Err(ctx.err(
                span.clone(),
                format!("{path}.points[{i}].at"),
                format!("times must increase: {at}s is not after {prev}s"),
            ));
        }
        points.push((at, p.rate.0));
    }
    if points.iter().all(|p| p.1 <= 0.0) {
        return Err(ctx.err(
            span,
            path,
            "every rate is zero: the service would get no traffic",
        ));
    }
    Ok(RateModel::Piecewise {
        points,
        step: t.interpolate == Some(Interpolate::Step),
    })
}

/// `trace`: the rates of a CSV file, read through `files`.
fn trace(
    t: &TrafficFile,
    span: Range<usize>,
    path: &str,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<RateModel, InputError> {
    let opts = TraceOptions {
        time_column: t.time_column.as_deref().unwrap_or("time"),
        rate_column: t.rate_column.as_deref().unwrap_or("rate"),
        count_interval_s: t.count_interval.map(|d| d.0.as_secs_f64()),
        time_scale: t.time_scale.map_or(1.0, |x| x.0),
        rate_scale: t.rate_scale.map_or(1.0, |x| x.0),
        skip_s: secs(t.skip),
    };
    if opts.count_interval_s == Some(0.0) {
        return Err(ctx.err(
            span,
            format!("{path}.countInterval"),
            "must be greater than zero",
        ));
    }
    let file = t.file.as_ref().expect("checked");
    let bytes = read_file(file, &format!("{path}.file"), ctx, files, hash)?;
    let points = parse_rate_trace(
        &bytes,
        &files.display(file.get_ref()),
        &opts,
        &format!("{path}.file"),
    )?;
    Ok(RateModel::Piecewise {
        points,
        step: t.interpolate != Some(Interpolate::Linear),
    })
}

pub(super) fn read_file(
    file: &Spanned<String>,
    path: &str,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<Vec<u8>, InputError> {
    let bytes = files.read(file.get_ref()).map_err(|e| {
        ctx.err(
            file.span(),
            path,
            format!("cannot read '{}': {e}", files.display(file.get_ref())),
        )
    })?;
    hash.extend_from_slice(&bytes);
    Ok(bytes)
}

/// How to read a rate trace.
pub(crate) struct TraceOptions<'a> {
    pub time_column: &'a str,
    pub rate_column: &'a str,
    pub count_interval_s: Option<f64>,
    pub time_scale: f64,
    pub rate_scale: f64,
    pub skip_s: f64,
}

/// Byte offset of field `i` within its line (fields plus one delimiter each;
/// exact for unquoted, untrimmed fields, which is what traces contain).
pub(super) fn field_offset(record: &csv::StringRecord, i: usize) -> Option<Range<usize>> {
    let start = record.iter().take(i).map(|f| f.len() + 1).sum::<usize>();
    Some(start..start)
}

pub(super) fn csv_error(
    file: &str,
    text: &[u8],
    pos: Option<&csv::Position>,
    field: Option<Range<usize>>,
    what: &str,
    message: String,
) -> InputError {
    let (line, column) = match pos {
        Some(p) => {
            let start = p.byte() as usize + field.map_or(0, |r| r.start);
            let text = String::from_utf8_lossy(text);
            line_col(&text, start)
        }
        None => (0, 0),
    };
    InputError {
        file: file.to_string(),
        line,
        column,
        path: what.to_string(),
        message,
    }
}

pub(super) fn open_csv<'b>(
    bytes: &'b [u8],
    file: &str,
    wanted: &[&str],
    what: &str,
) -> Result<(csv::Reader<&'b [u8]>, Vec<usize>), InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| {
            csv_error(
                file,
                bytes,
                e.position(),
                None,
                what,
                format!("cannot read the header row: {e}"),
            )
        })?
        .clone();
    let mut idx = Vec::new();
    for w in wanted {
        let i = headers
            .iter()
            .position(|h| h == *w)
            .ok_or_else(|| InputError {
                file: file.to_string(),
                line: 1,
                column: 1,
                path: what.to_string(),
                message: format!(
                    "no column '{w}' in the header (columns: {})",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            })?;
        idx.push(i);
    }
    Ok((reader, idx))
}

/// Parses `time,rate` rows into `(sim seconds, requests/s)` points.
pub(crate) fn parse_rate_trace(
    bytes: &[u8],
    file: &str,
    o: &TraceOptions<'_>,
    what: &str,
) -> Result<Vec<(f64, f64)>, InputError> {
    let (mut reader, idx) = open_csv(bytes, file, &[o.time_column, o.rate_column], what)?;
    let mut rows: Vec<(f64, f64)> = Vec::new();
    let mut first: Option<f64> = None;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(csv_error(
                    file,
                    bytes,
                    e.position(),
                    None,
                    what,
                    format!("malformed row: {e}"),
                ));
            }
        }
        let pos = record.position().cloned();
        let row = pos.as_ref().map_or(0, |p| p.line());
        let bad = |col: usize, name: &str, msg: String| {
            csv_error(
                file,
                bytes,
                pos.as_ref(),
                field_offset(&record, col),
                what,
                format!("row {row}, column '{name}': {msg}"),
            )
        };
        let (Some(ts), Some(rs)) = (record.get(idx[0]), record.get(idx[1])) else {
            return Err(csv_error(
                file,
                bytes,
                pos.as_ref(),
                None,
                what,
                format!("row {row} has {} fields; the header has more", record.len()),
            ));
        };
        let t = parse_time(ts).map_err(|m| bad(idx[0], o.time_column, m))?;
        let r: f64 = rs
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| bad(idx[1], o.rate_column, format!("'{rs}' is not a number")))?;
        if r < 0.0 {
            return Err(bad(idx[1], o.rate_column, format!("rate {r} is negative")));
        }
        let t0 = *first.get_or_insert(t);
        let rel = t - t0;
        if let Some(&(prev, _)) = rows.last()
            && rel <= prev
        {
            return Err(bad(
                idx[0],
                o.time_column,
                format!("times must increase: '{ts}' is not after the previous row"),
            ));
        }
        rows.push((rel, r));
    }
    if rows.is_empty() {
        return Err(InputError {
            file: file.to_string(),
            line: 1,
            column: 1,
            path: what.to_string(),
            message: "the trace has no rows".into(),
        });
    }
    let mut points: Vec<(f64, f64)> = Vec::with_capacity(rows.len());
    for (rel, r) in rows {
        let rate = o.count_interval_s.map_or(r, |iv| r / iv) * o.rate_scale;
        let t = (rel - o.skip_s) * o.time_scale;
        if t <= 0.0 {
            // Before (or at) the start: the latest such row gives the value at time zero.
            points.clear();
            points.push((0.0, rate));
        } else {
            points.push((t, rate));
        }
    }
    if points.iter().all(|p| p.1 <= 0.0) {
        return Err(InputError {
            file: file.to_string(),
            line: 0,
            column: 0,
            path: what.to_string(),
            message: "every rate in the trace is zero: the service would get no traffic".into(),
        });
    }
    Ok(points)
}

/// Reads one column of non-negative seconds as samples.
pub(crate) fn read_samples(
    file: &Spanned<String>,
    column: Option<&str>,
    what: &str,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<Vec<SimDuration>, InputError> {
    let bytes = read_file(file, what, ctx, files, hash)?;
    let name = files.display(file.get_ref());
    let col_name;
    let (mut reader, idx) = match column {
        Some(c) => {
            col_name = c.to_string();
            open_csv(&bytes, &name, &[c], what)?
        }
        None => {
            let mut r = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(&bytes[..]);
            col_name = r
                .headers()
                .ok()
                .and_then(|h| h.get(0).map(str::to_string))
                .unwrap_or_default();
            (r, vec![0])
        }
    };
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(csv_error(
                    &name,
                    &bytes,
                    e.position(),
                    None,
                    what,
                    format!("malformed row: {e}"),
                ));
            }
        }
        let pos = record.position().cloned();
        let row = pos.as_ref().map_or(0, |p| p.line());
        let v = record.get(idx[0]).unwrap_or("");
        let x: f64 = v.parse().ok().filter(|x: &f64| x.is_finite() && *x >= 0.0).ok_or_else(|| {
            csv_error(&name, &bytes, pos.as_ref(), field_offset(&record, idx[0]), what, format!("row {row}, column '{col_name}': '{v}' is not a non-negative number of seconds"))
        })?;
        out.push(SimDuration::from_secs_f64(x));
    }
    if out.is_empty() {
        return Err(InputError {
            file: name,
            line: 1,
            column: 1,
            path: what.to_string(),
            message: "no samples".into(),
        });
    }
    Ok(out)
}

/// Seconds as a number, or a `YYYY-MM-DD HH:MM:SS` (or `…THH:MM:SS`) timestamp as seconds since 1970.
fn parse_time(s: &str) -> Result<f64, String> {
    if let Ok(x) = s.parse::<f64>()
        && x.is_finite()
    {
        return Ok(x);
    }
    let bad = || format!("'{s}' is neither seconds nor a YYYY-MM-DD HH:MM:SS timestamp");
    let (date, time) = s.split_once([' ', 'T']).ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let t: Vec<f64> = time
        .split(':')
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if d.len() != 3 || t.len() != 3 || !(1..=12).contains(&d[1]) || !(1..=31).contains(&d[2]) {
        return Err(bad());
    }
    let days = days_from_civil(d[0], d[1], d[2]);
    Ok(days as f64 * 86400.0 + t[0] * 3600.0 + t[1] * 60.0 + t[2])
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> TraceOptions<'static> {
        TraceOptions {
            time_column: "time",
            rate_column: "rate",
            count_interval_s: None,
            time_scale: 1.0,
            rate_scale: 1.0,
            skip_s: 0.0,
        }
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017); // 30 years + 8 leap days + Jan + Feb(29)
        assert_eq!(
            parse_time("1998-04-30 21:31:00").unwrap() - parse_time("1998-04-30 21:30:00").unwrap(),
            60.0
        );
        assert_eq!(
            parse_time("1998-05-01 00:00:00").unwrap() - parse_time("1998-04-30 00:00:00").unwrap(),
            86400.0
        );
    }

    #[test]
    fn counts_per_minute_become_rates_and_time_scales() {
        let csv = b"period,count\n1998-04-30 21:30:00,120\n1998-04-30 21:31:00,60\n";
        let o = TraceOptions {
            time_column: "period",
            rate_column: "count",
            count_interval_s: Some(60.0),
            time_scale: 0.5,
            rate_scale: 2.0,
            skip_s: 0.0,
        };
        // 120/60 × 2 = 4 req/s at 0; 60/60 × 2 = 2 req/s at 60 s × 0.5 = 30 s.
        assert_eq!(
            parse_rate_trace(csv, "t.csv", &o, "x").unwrap(),
            vec![(0.0, 4.0), (30.0, 2.0)]
        );
    }

    #[test]
    fn skip_keeps_the_value_in_force_at_the_new_start() {
        let csv = b"time,rate\n0,1\n10,2\n20,3\n";
        let o = TraceOptions {
            skip_s: 15.0,
            ..opts()
        };
        assert_eq!(
            parse_rate_trace(csv, "t.csv", &o, "x").unwrap(),
            vec![(0.0, 2.0), (5.0, 3.0)]
        );
    }

    #[test]
    fn bad_rows_are_located() {
        let csv = b"time,rate\n0,1\n10,abc\n";
        let e = parse_rate_trace(csv, "t.csv", &opts(), "services.web.traffic.file").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:3:4: services.web.traffic.file: row 3, column 'rate': 'abc' is not a number"
        );
        let e = parse_rate_trace(b"time,rate\n5,1\n5,2\n", "t.csv", &opts(), "x").unwrap_err();
        assert!(e.message.contains("times must increase"), "{e}");
        let e = parse_rate_trace(b"t,r\n", "t.csv", &opts(), "x").unwrap_err();
        assert!(e.message.contains("no column 'time'"), "{e}");
        let e = parse_rate_trace(b"time,rate\n0,-1\n", "t.csv", &opts(), "x").unwrap_err();
        assert!(e.message.contains("negative"), "{e}");
    }
}
