//! `schema print` and `schema create`: the CQL the adapter would run for the
//! configured keyspace, table and layout.

use std::io::Write;

use taskrec::cassandra::schema_statements;

use crate::args::{Connection, SchemaCommand};
use crate::{connect, output};

/// Runs `schema print` or `schema create`.
pub async fn run(options: &Connection, command: SchemaCommand) -> anyhow::Result<()> {
    match command {
        SchemaCommand::Print(args) => {
            let config =
                connect::config(options)?.replication(connect::replication(&args.replication)?);
            let mut out = output::stdout();
            for statement in schema_statements(&config)? {
                writeln!(out, "{statement};\n")?;
            }
            out.flush()?;
            Ok(())
        }
        SchemaCommand::Create(args) => {
            let config = connect::config(options)?
                .replication(connect::replication(&args.replication)?)
                .create_schema(true);
            let (keyspace, table) = (
                config.keyspace_name().to_owned(),
                config.table_name().to_owned(),
            );
            // Connecting creates what is missing, waits for the cluster to
            // agree on it, and prepares every statement against it: a
            // success here means the table is usable.
            connect::adapter(options, config).await?;
            println!("schema ready: {keyspace}.{table}");
            Ok(())
        }
    }
}
