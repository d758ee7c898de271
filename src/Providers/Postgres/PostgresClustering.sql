-- OrleansShards: the PostgreSQL schema of Orleans' ADO.NET clustering provider
-- (Microsoft.Orleans.Clustering.AdoNet, invariant "Npgsql"), written for this project.
--
-- The provider runs no SQL of its own beyond "SELECT QueryKey, QueryText FROM OrleansQuery": it loads
-- the query texts below by key, binds its parameters by name (@DeploymentId, @Address, @Port,
-- @Generation, @SiloName, @HostName, @Status, @ProxyPort, @SuspectTimes, @StartTime, @IAmAliveTime,
-- @Version) and reads result columns by name, so every query aliases its columns to those names.
--
-- Concurrency: one row per cluster in shards_membership_version carries the table version, the
-- optimistic-concurrency token of Orleans' membership protocol (the provider's per-row ETags are
-- always empty). Every write that changes membership bumps that version in the same statement, and
-- only if it still equals the version the writer read (@Version). Under READ COMMITTED a second
-- writer waits for the first one's row lock, re-checks the version against the committed row and
-- finds it changed: racing writers serialize and exactly one of them wins.
--
-- Applied by PostgresClusteringSchema.ApplyAsync under an advisory lock, in one transaction; every
-- statement is idempotent, so it runs on an empty database and on one it has already migrated.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

CREATE TABLE IF NOT EXISTS shards_membership_version
(
    deployment_id varchar(150) NOT NULL PRIMARY KEY,
    version       integer      NOT NULL DEFAULT 0,
    changed_at    timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS shards_membership
(
    deployment_id   varchar(150) NOT NULL REFERENCES shards_membership_version (deployment_id) ON DELETE CASCADE,
    address         varchar(45)  NOT NULL,
    port            integer      NOT NULL,
    generation      integer      NOT NULL,
    silo_name       varchar(150) NOT NULL,
    host_name       varchar(150) NOT NULL,
    status          integer      NOT NULL,
    proxy_port      integer      NOT NULL,
    suspect_times   text         NULL,
    start_time      timestamptz  NOT NULL,
    i_am_alive_time timestamptz  NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

-- The gateway list filters on status within a cluster.
CREATE INDEX IF NOT EXISTS shards_membership_status ON shards_membership (deployment_id, status);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- A silo's first step: make sure its cluster has a version row. True when this call created it.
('InsertMembershipVersionKey', $query$
WITH created AS (
    INSERT INTO shards_membership_version (deployment_id)
    VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) > 0 FROM created
$query$),

-- A silo joins: its row appears and the version moves on, both or neither. False when the version is
-- stale or the silo (address, port, generation) is already in the table.
('InsertMembershipKey', $query$
WITH bumped AS (
    UPDATE shards_membership_version AS v
    SET version = v.version + 1, changed_at = now()
    WHERE v.deployment_id = @DeploymentId
      AND v.version = @Version
      AND NOT EXISTS (
          SELECT 1 FROM shards_membership AS m
          WHERE m.deployment_id = @DeploymentId AND m.address = @Address AND m.port = @Port AND m.generation = @Generation)
    RETURNING v.deployment_id
), inserted AS (
    INSERT INTO shards_membership
        (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
    SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
    FROM bumped
    RETURNING 1
)
SELECT count(*) > 0 FROM inserted
$query$),

-- A status change or a suspicion vote: the row changes and the version moves on, both or neither.
-- False when the version is stale or the silo has no row.
('UpdateMembershipKey', $query$
WITH bumped AS (
    UPDATE shards_membership_version AS v
    SET version = v.version + 1, changed_at = now()
    WHERE v.deployment_id = @DeploymentId
      AND v.version = @Version
      AND EXISTS (
          SELECT 1 FROM shards_membership AS m
          WHERE m.deployment_id = @DeploymentId AND m.address = @Address AND m.port = @Port AND m.generation = @Generation)
    RETURNING v.deployment_id
), updated AS (
    UPDATE shards_membership AS m
    SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
    FROM bumped
    WHERE m.deployment_id = bumped.deployment_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING 1
)
SELECT count(*) > 0 FROM updated
$query$),

-- The heartbeat: not a membership change, so no version check and no new version.
('UpdateIAmAlivetimeKey', $query$
UPDATE shards_membership
SET i_am_alive_time = @IAmAliveTime
WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
$query$),

-- One silo's row. The version row comes back even when the silo has none (a row of NULL member
-- columns), because the provider takes the table version from the first row.
('MembershipReadRowKey', $query$
SELECT
    v.deployment_id   AS "DeploymentId",
    m.address         AS "Address",
    m.port            AS "Port",
    m.generation      AS "Generation",
    m.silo_name       AS "SiloName",
    m.host_name       AS "HostName",
    m.status          AS "Status",
    m.proxy_port      AS "ProxyPort",
    m.suspect_times   AS "SuspectTimes",
    m.start_time      AS "StartTime",
    m.i_am_alive_time AS "IAmAliveTime",
    v.version         AS "Version"
FROM shards_membership_version AS v
LEFT JOIN shards_membership AS m
    ON m.deployment_id = v.deployment_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId
$query$),

-- Every silo of the cluster, with the table version on each row (and on the one row of an empty table).
('MembershipReadAllKey', $query$
SELECT
    v.deployment_id   AS "DeploymentId",
    m.address         AS "Address",
    m.port            AS "Port",
    m.generation      AS "Generation",
    m.silo_name       AS "SiloName",
    m.host_name       AS "HostName",
    m.status          AS "Status",
    m.proxy_port      AS "ProxyPort",
    m.suspect_times   AS "SuspectTimes",
    m.start_time      AS "StartTime",
    m.i_am_alive_time AS "IAmAliveTime",
    v.version         AS "Version"
FROM shards_membership_version AS v
LEFT JOIN shards_membership AS m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId
$query$),

-- The client's gateway list: silos in the given status (Active) that accept clients.
('GatewaysQueryKey', $query$
SELECT
    address    AS "Address",
    proxy_port AS "ProxyPort",
    generation AS "Generation"
FROM shards_membership
WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0
$query$),

-- Forget a cluster: its version row, and through the foreign key every silo row.
('DeleteMembershipTableEntriesKey', $query$
DELETE FROM shards_membership_version WHERE deployment_id = @DeploymentId
$query$),

-- Orleans' periodic clean-up of silos that stopped long ago: never a silo that is Active (status 3).
('CleanupDefunctSiloEntriesKey', $query$
DELETE FROM shards_membership
WHERE deployment_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3
$query$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
