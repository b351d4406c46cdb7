//! A deployment as this client sees it: the nodes, their versions and
//! clocks, the table, and this client's measured clock offset
//! ([`CassandraAdapter::check_deployment`], behind `taskrec doctor`).

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use scylla::cluster::Node;
use scylla::policies::load_balancing::{NodeIdentifier, SingleTargetLoadBalancingPolicy};
use scylla::statement::Consistency;

use crate::clock::{behind_or_ahead, signed_seconds, ClockReading};
use crate::error::error_chain;

use super::clock::{ClusterClock, CqlTimeQuery, SystemClock};
use super::{first_row, prepare_with, CassandraAdapter};

/// One node of the cluster, as this client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeCheck {
    /// The node's address, as the driver knows it.
    pub address: String,
    /// Its data centre, as the cluster's metadata says.
    pub datacenter: Option<String>,
    /// Its rack.
    pub rack: Option<String>,
    /// The Cassandra (or ScyllaDB's Cassandra-compatible) version it runs,
    /// from its `system.local`.
    pub release_version: Option<String>,
    /// Its schema version: the nodes agree on the schema when all are equal.
    pub schema_version: Option<uuid::Uuid>,
    /// This client's clock against the node's: five time queries sent to
    /// this node alone, the fastest wins.
    pub clock: Option<ClockReading>,
    /// Why the node could not be read, when it could not.
    pub error: Option<String>,
}

/// What [`CassandraAdapter::check_deployment`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeploymentCheck {
    /// Every node the driver knows, in its order.
    pub nodes: Vec<NodeCheck>,
    /// `keyspace.table`.
    pub table: String,
    /// The table layout: `taskrec` (schema [`SCHEMA_VERSION`](super::SCHEMA_VERSION))
    /// or `task_rb`.
    pub layout: &'static str,
    /// The table's shard count (1 for task_rb's table).
    pub shards: u32,
    /// The adapter's own measurement of this client's clock against the
    /// cluster's: the one it places and judges tasks by.
    pub clock: Option<ClockReading>,
    /// The uncertainty the adapter accepts ([`CassandraConfig::clock_tolerance`](super::CassandraConfig::clock_tolerance)).
    pub clock_tolerance: Duration,
    /// What needs fixing before tasks are safe, one sentence each: a node
    /// that does not answer, nodes that disagree on the schema, a time the
    /// adapter cannot tell. Empty when there is none.
    pub problems: Vec<String>,
    /// What deserves a look but does not endanger a task: a clock off the
    /// cluster's (taskrec corrects for it), nodes on different versions.
    pub warnings: Vec<String>,
}

impl CassandraAdapter {
    /// Checks the deployment as this client sees it: each node's version,
    /// schema version and clock (against this client's), the table, and the
    /// adapter's measured offset. Nothing here fails: what cannot be read
    /// becomes a [`problem`](DeploymentCheck::problems).
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig};
    /// let adapter = CassandraAdapter::connect(CassandraConfig::new(["127.0.0.1:9042"], "jobs")).await?;
    /// let check = adapter.check_deployment().await;
    /// for node in &check.nodes {
    ///     println!("{} runs {:?}", node.address, node.release_version);
    /// }
    /// assert!(check.problems.is_empty(), "{:?}", check.problems);
    /// # Ok(()) }
    /// ```
    pub async fn check_deployment(&self) -> DeploymentCheck {
        let limits = self.clock.limits();
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let nodes: Vec<Arc<Node>> = self.session.get_cluster_state().get_nodes_info().to_vec();
        let mut checks = Vec::with_capacity(nodes.len());
        for node in nodes {
            checks.push(self.check_node(node, limits).await);
        }
        for node in &checks {
            if let Some(error) = &node.error {
                problems.push(format!("node {} does not answer: {error}", node.address));
            }
        }
        let versions: std::collections::BTreeSet<&str> = checks
            .iter()
            .filter_map(|n| n.release_version.as_deref())
            .collect();
        if versions.len() > 1 {
            warnings.push(format!(
                "the nodes run different versions: {}",
                versions.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let schemas: std::collections::BTreeSet<uuid::Uuid> =
            checks.iter().filter_map(|n| n.schema_version).collect();
        if schemas.len() > 1 {
            problems.push(format!(
                "the nodes disagree on the schema ({} versions): wait for schema agreement before \
                 creating or using tables",
                schemas.len()
            ));
        }
        // Nodes whose clocks disagree order writes wrongly whatever the
        // clients do: a coordinator's clock stamps a plain write.
        let offsets: Vec<TimeDelta> = checks
            .iter()
            .filter_map(|n| n.clock.map(|c| c.offset))
            .collect();
        if let (Some(low), Some(high)) = (offsets.iter().min(), offsets.iter().max()) {
            let spread = *high - *low;
            if spread > TimeDelta::from_std(limits.tolerance).unwrap_or(TimeDelta::MAX) {
                problems.push(format!(
                    "the nodes' clocks disagree by {} (more than the tolerance of {} ms): Cassandra \
                     orders writes by their coordinators' clocks; fix the nodes' NTP",
                    signed_seconds(spread),
                    limits.tolerance.as_millis()
                ));
            }
        }
        if let Err(e) = self.clock.now().await {
            problems.push(e.to_string());
        }
        let clock = self.clock.reading();
        if let Some(reading) = clock.filter(|r| r.past_warning) {
            warnings.push(format!(
                "this client's clock is {} the cluster's (the warning threshold is {} ms): \
                 taskrec keeps time by the cluster and corrects for it, but fix this host's NTP",
                behind_or_ahead(reading.offset),
                limits.warn_offset.as_millis()
            ));
        }
        DeploymentCheck {
            nodes: checks,
            table: self.name.clone(),
            layout: if self.capabilities_keep_state() {
                "taskrec"
            } else {
                "task_rb"
            },
            shards: self.shards(),
            clock,
            clock_tolerance: limits.tolerance,
            problems,
            warnings,
        }
    }

    fn capabilities_keep_state(&self) -> bool {
        crate::adapter::StorageAdapter::capabilities(self).conditional_writes()
    }

    /// One node: its `system.local`, and its clock against this client's,
    /// by requests sent to it alone.
    async fn check_node(&self, node: Arc<Node>, limits: super::clock::ClockLimits) -> NodeCheck {
        let mut check = NodeCheck {
            address: node.address.to_string(),
            datacenter: node.datacenter.clone(),
            rack: node.rack.clone(),
            release_version: None,
            schema_version: None,
            clock: None,
            error: None,
        };
        let target = SingleTargetLoadBalancingPolicy::new(NodeIdentifier::Node(node), None);
        let local = prepare_with(
            &self.session,
            "SELECT release_version, schema_version FROM system.local".to_owned(),
            Consistency::LocalOne,
            "system.local is every node's own",
        )
        .await;
        let mut local = match local {
            Ok(statement) => statement,
            Err(e) => {
                check.error = Some(error_chain(&e));
                return check;
            }
        };
        local.set_load_balancing_policy(Some(Arc::clone(&target)));
        match first_row::<(Option<String>, Option<uuid::Uuid>)>(&self.session, &local, ()).await {
            Ok(Some((release, schema))) => {
                check.release_version = release;
                check.schema_version = schema;
            }
            Ok(None) => check.error = Some("system.local returned no row".to_owned()),
            Err(e) => {
                check.error = Some(error_chain(&e));
                return check;
            }
        }
        match CqlTimeQuery::prepare(Arc::clone(&self.session), limits.query_timeout()).await {
            Ok(mut query) => {
                query.target(target);
                let clock = ClusterClock::probe(Box::new(query), Box::new(SystemClock), limits);
                clock.measure().await;
                check.clock = clock.reading();
                if check.clock.is_none() {
                    check.error = clock.failure().map(|f| format!("its clock: {f}"));
                }
            }
            Err(e) => check.error = Some(error_chain(&e)),
        }
        check
    }
}
