//! `doctor`: the deployment as this client sees it, and what needs fixing.

use std::io::Write;

use anyhow::anyhow;
use serde_json::{json, Value};
use taskrec::cassandra::{DeploymentCheck, SCHEMA_VERSION};
use taskrec::clock::behind_or_ahead;
use taskrec::ClockReading;

use crate::args::{Connection, DoctorArgs, Format};
use crate::{connect, output};

/// Prints the checks; an error (exit 1) when a problem was found.
pub async fn run(options: &Connection, args: DoctorArgs) -> anyhow::Result<()> {
    let adapter = connect::adapter(options, connect::config(options)?).await?;
    let check = adapter.check_deployment().await;
    let mut out = output::stdout();
    match args.format {
        Format::Text => write_text(&mut out, &check)?,
        Format::Json => writeln!(out, "{}", to_json(&check))?,
    }
    out.flush()?;
    match check.problems.len() {
        0 => Ok(()),
        1 => Err(anyhow!("1 problem found")),
        n => Err(anyhow!("{n} problems found")),
    }
}

/// Where this client's clock is against the cluster's, in words.
fn relation(reading: &ClockReading) -> String {
    format!(
        "{} the cluster's (± {:.1} ms)",
        behind_or_ahead(reading.offset),
        reading.uncertainty.as_secs_f64() * 1_000.0
    )
}

fn write_text(out: &mut impl Write, check: &DeploymentCheck) -> std::io::Result<()> {
    let layout = match check.layout {
        "taskrec" => format!(
            "taskrec's table, schema {SCHEMA_VERSION}, {} shards",
            check.shards
        ),
        other => format!("{other}'s table"),
    };
    writeln!(out, "table: {}: {layout}", check.table)?;
    match &check.clock {
        Some(reading) => writeln!(
            out,
            "clock: this client's is {}; tasks are timed by the cluster's (tolerance {} ms)",
            relation(reading),
            check.clock_tolerance.as_millis()
        )?,
        None => writeln!(out, "clock: not measured")?,
    }
    writeln!(out)?;
    let mut table = output::Table::new(vec![
        "NODE",
        "DC/RACK",
        "VERSION",
        "SCHEMA",
        "CLOCK (CLUSTER - CLIENT)",
    ]);
    for node in &check.nodes {
        table.push(vec![
            node.address.clone(),
            format!(
                "{}/{}",
                node.datacenter.as_deref().unwrap_or("?"),
                node.rack.as_deref().unwrap_or("?")
            ),
            node.release_version.clone().unwrap_or_else(|| "?".into()),
            node.schema_version
                .map(|v| v.simple().to_string()[..8].to_owned())
                .unwrap_or_else(|| "?".into()),
            match (&node.clock, &node.error) {
                (Some(reading), _) => reading.to_string(),
                (None, Some(error)) => format!("no answer: {}", output::cell(error, 60)),
                (None, None) => "?".into(),
            },
        ]);
    }
    table.flush(out, true)?;
    writeln!(out)?;
    for warning in &check.warnings {
        writeln!(out, "warning: {warning}")?;
    }
    for problem in &check.problems {
        writeln!(out, "problem: {problem}")?;
    }
    if check.problems.is_empty() {
        writeln!(out, "no problems found")?;
    }
    Ok(())
}

fn reading_json(reading: &ClockReading) -> Value {
    json!({
        "offset_ms": reading.offset.num_milliseconds(),
        "uncertainty_ms": reading.uncertainty.as_secs_f64() * 1_000.0,
        "measured_at": output::time(reading.measured_at),
    })
}

fn to_json(check: &DeploymentCheck) -> Value {
    let nodes: Vec<Value> = check
        .nodes
        .iter()
        .map(|node| {
            json!({
                "address": node.address,
                "datacenter": node.datacenter,
                "rack": node.rack,
                "release_version": node.release_version,
                "schema_version": node.schema_version.map(|v| v.to_string()),
                "clock": node.clock.as_ref().map(reading_json),
                "error": node.error,
            })
        })
        .collect();
    json!({
        "table": check.table,
        "layout": check.layout,
        "shards": check.shards,
        "clock": check.clock.as_ref().map(reading_json),
        "clock_tolerance_ms": check.clock_tolerance.as_millis() as u64,
        "nodes": nodes,
        "problems": check.problems,
        "warnings": check.warnings,
    })
}
