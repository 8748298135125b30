// The one API of sessiond, shared by the daemon, the C++ client, the Python
// client and the JVM plugin. Two services multiplexed on one port
// (TMultiplexedProtocol names "Sessions" and "Admin"), binary protocol,
// framed transport. Every call carries the caller's token first.
//
// Compatibility: fields are only ever added, with new ids, as optional or
// with defaults; ids and enum values are never reused.

namespace cpp sched.api
namespace py session_scheduler_api
namespace java org.apache.spark.scheduler.cluster.session.thrift

const string SESSIONS_SERVICE = "Sessions"
const string ADMIN_SERVICE = "Admin"
const i32 API_VERSION = 1

enum ErrorCode {
  INVALID_ARGUMENT = 1,     // a field is malformed or out of range; the message names it
  UNAUTHENTICATED = 2,      // the token is missing or unknown
  PERMISSION_DENIED = 3,    // the token's principal may not do this (outside its subtree, not admin)
  NOT_FOUND = 4,            // unknown session, consumer, host or executor
  ALREADY_EXISTS = 5,       // a session id taken by a different registration
  FAILED_PRECONDITION = 6,  // valid, but not now (e.g. a tree that would orphan a live session)
  UNAVAILABLE = 7,          // recovering or shutting down: retry later
  INTERNAL = 8,
}

// Every error a call can return. Nothing was changed when it is raised.
exception SchedulerError {
  1: ErrorCode code,
  2: string message,
}

enum SlaClass {
  INTERACTIVE = 1,  // notebooks, shells, SQL: fast first task, shrinks when idle
  STREAMING = 2,    // Kafka-fed: its minimum is never preempted
  BATCH = 3,        // spark-submit jobs: fills what is free, preempted first
}

// Base units: millicores, MiB, milli-gpus; extras by name in their own unit.
struct ResourceVector {
  1: i64 cpu_millis = 0,
  2: i64 memory_mib = 0,
  3: i64 gpu_millis = 0,
  4: map<string, i64> extras = {},
}

// How the backend starts one executor of the session. In `command`, `env`
// values and `working_dir` these placeholders are replaced per executor:
// {executor_id} {executor_index} {session_id} {host} {slots} {max_slots}
// {cpu_cores} {memory_mib}. Executor ids are "<session_id>-<index>", the
// index a number unique within the session (Spark's executor id).
struct LaunchSpec {
  1: list<string> command = [],
  2: map<string, string> env = {},
  3: string working_dir = "",
  // The container image, for backends that run containers (Kubernetes);
  // empty: the backend's configured default.
  4: string image = "",
  // Settings for the backend that runs the executors, by name
  // ("k8s.owner": "Pod/<name>/<uid>", "k8s.serviceAccount": ...). Each
  // backend documents its own and rejects the ones it does not know.
  5: map<string, string> backend_options = {},
  // A warm start, for backends that keep processes started ahead of need
  // (the local backend's warm_pool). `warm_command` starts a process that
  // prepares itself (a JVM loading its classes) and then waits on its stdin
  // for one hand-off: the environment and command[warm_args_from:], after
  // which it is the executor. Taken literally (no {placeholders}): sessions
  // whose warm_command is the same share one pool. Empty: cold starts only.
  6: list<string> warm_command = [],
  7: i32 warm_args_from = 0,
}

struct SessionSpec {
  1: string consumer,                 // a leaf of the consumer tree, "/bank/risk/alice"
  2: string user = "",
  3: string application = "",
  4: SlaClass sla = SlaClass.BATCH,
  5: i32 priority = 0,                // higher first, inside one consumer
  6: ResourceVector slot_shape,       // one slot (one task) of its executors; empty: the server's slot
  7: i64 min_slots = 0,               // kept while demand lasts; never preempted for streaming
  8: i64 max_slots = 0,               // 0: no cap
  9: i64 initial_demand = 0,          // slots it can use right away
  10: LaunchSpec launch,
  // Optional client-chosen id (e.g. the Spark application id). Registering
  // the same id again with the same consumer returns the live session, so a
  // retried call never makes two.
  11: optional string session_id,
  12: i64 lease_ttl_ms = 0,           // 0: the server's default
}

struct Registration {
  1: string session_id,
  2: i64 lease_ttl_ms,            // heartbeat at least this often or lose the executors
  3: i64 heartbeat_interval_ms,   // suggested
  4: i32 max_wait_ms,             // the longest a heartbeat may wait for news
}

// What the session could use now. Slots wanted = `slots` when set, else
// pending + running tasks (one task per slot), clamped to [min, max].
struct Demand {
  1: i64 pending_tasks = 0,
  2: i64 running_tasks = 0,
  3: optional i64 slots,
  // Tasks running on each executor (ids as in Directives). When the daemon
  // gives slots back for lower demand it takes idle ones first; without
  // this it takes the youngest, which may still run tasks.
  4: optional map<string, i64> running_by_executor,
}

enum ExecutorState {
  LAUNCHING = 1,  // asked of the backend, not yet running
  RUNNING = 2,
  STOPPING = 3,   // its slots are gone; the backend is stopping it
  EXITED = 4,     // gone; kept in directives for a while so the driver sees why
}

struct Executor {
  1: string executor_id,
  2: string host,
  3: i64 slots,                    // granted now (concurrent tasks), revoking ones included
  4: i64 revoking,                 // of those, promised back (see revocations)
  5: ExecutorState state,
  6: i64 since_ms,                 // when it was granted
  7: bool acknowledged = false,    // the driver said it registered
  8: i32 exit_code = 0,            // EXITED only; -N for signal N
  9: string detail = "",           // why it stopped, launch errors
  10: ResourceVector resources,    // what it was launched with (slots x shape)
}

// Slots the session must give back by the deadline: stop placing tasks on
// them now, let running ones finish, kill the rest at the deadline, then
// call release (or they are taken anyway).
struct Revocation {
  1: i64 revocation_id,
  2: string executor_id,
  3: string host,
  4: i64 slots,
  5: i64 issued_ms,
  6: i64 deadline_ms,
  7: string reason,       // ownership, rebalance, limit, sla-priority, drain, capacity, ...
  8: string beneficiary,  // the consumer or session the slots are for
}

// The whole current view of one session: level-triggered, so a lost reply
// costs nothing. `version` grows whenever anything in it changes.
struct Directives {
  1: i64 version,
  2: i64 server_time_ms,
  3: i64 lease_expires_ms,
  4: i64 granted_slots,
  5: i64 target_slots,
  6: list<Executor> executors,
  7: list<Revocation> revocations,
}

service Sessions {
  Registration register_session(1: string token, 2: SessionSpec spec)
      throws (1: SchedulerError error)

  // Soft state: acknowledged at once, rescheduled within milliseconds.
  void update_demand(1: string token, 2: string session_id, 3: Demand demand)
      throws (1: SchedulerError error)

  // Renews the lease; returns at once when the view's version differs from
  // `known_version`, else when it changes or after `wait_ms` (capped at the
  // registration's max_wait_ms). Versions restart with the daemon: a lower
  // version than the one known is a new view, not an old one.
  Directives heartbeat(1: string token, 2: string session_id, 3: i64 known_version, 4: i32 wait_ms)
      throws (1: SchedulerError error)

  // The driver saw these executors register.
  void acknowledge(1: string token, 2: string session_id, 3: list<string> executor_ids)
      throws (1: SchedulerError error)

  // Gives slots of one executor back (slots <= 0: all of them, and the
  // executor stops). Revoking slots are returned first.
  void release(1: string token, 2: string session_id, 3: string executor_id, 4: i64 slots)
      throws (1: SchedulerError error)

  // Ends the session: its executors stop.
  void unregister_session(1: string token, 2: string session_id)
      throws (1: SchedulerError error)
}

struct Host {
  1: string name,
  2: ResourceVector capacity,
  3: ResourceVector used,
  4: bool draining,
  5: bool up,
  6: i32 executors,
}

struct ClusterStatus {
  1: string version,
  2: i64 server_time_ms,
  3: i64 started_ms,
  4: string backend,
  5: bool ready,
  6: ResourceVector slot,
  7: ResourceVector capacity,
  8: ResourceVector used,
  9: i32 sessions,
  10: i32 executors,
  11: i32 pending_revocations,
  12: list<Host> hosts,
  13: string principal,  // who the caller's token is
}

// One node of the tree with its plan in force and what it has now.
// Unlimited amounts are -1.
struct ConsumerInfo {
  1: string path,
  2: bool leaf,
  3: double share,
  4: ResourceVector owned,
  5: ResourceVector limit,
  6: ResourceVector reserved,
  7: bool borrow,
  8: ResourceVector demand,
  9: ResourceVector allocated,   // held now, revoking slots included
  10: ResourceVector target,     // what the share policy gives it now
  11: ResourceVector borrowed,   // allocated above owned
  12: ResourceVector lent,       // owned, not used by it, used by others
  13: i32 sessions,
}

struct ConsumerTree {
  1: string yaml,               // the tree as last set (the configuration's form)
  2: list<ConsumerInfo> consumers,
  3: i64 version,               // grows with every set_tree
  4: i64 updated_ms,
}

struct SessionInfo {
  1: string session_id,
  2: string consumer,
  3: string user,
  4: string application,
  5: SlaClass sla,
  6: i32 priority,
  7: ResourceVector slot_shape,
  8: i64 min_slots,
  9: i64 max_slots,
  10: i64 demand,
  11: i64 granted_slots,
  12: i64 revoking,
  13: i64 target_slots,
  14: i64 registered_ms,
  15: i64 lease_expires_ms,
  16: list<Executor> executors,
  17: string principal,
  18: i64 first_executor_ms,  // 0 until its first executor ran
}

// Metered use since the consumer first appeared (seconds of each kind).
struct ConsumerUsage {
  1: string path,
  2: ResourceVector allocated,
  3: double cpu_seconds,
  4: double memory_gib_seconds,
  5: double gpu_seconds,
  6: i64 since_ms,
}

// Ledger records of a time range (docs/billing.md): usage records by their
// start, session records by their end.
struct UsageQuery {
  1: i64 from_ms,
  2: i64 to_ms,              // exclusive; not after now
  3: string tenant = "",     // "": every tenant the caller may see
  4: string kind = "usage",  // usage, session or all
  5: string page_token = "", // from the previous page
  6: i32 limit = 1000,       // records per page, at most 10000
}

struct UsagePage {
  1: list<string> records,   // each one JSON object, the documented form
  2: string next_page_token, // "" on the last page
}

// One SLA class's use and cost in a bill.
struct BillLine {
  1: SlaClass sla,
  2: i64 records,
  3: double cpu_hours,
  4: double memory_gib_hours,
  5: double gpu_hours,
  6: double cpu_hour_price,
  7: double memory_gib_hour_price,
  8: double gpu_hour_price,
  9: double cost,
}

struct Bill {
  1: string tenant,
  2: string month,       // YYYY-MM, UTC
  3: string currency,
  4: list<BillLine> lines,
  5: double total,
  6: bool month_ended,   // the bill is final
}

service Admin {
  ClusterStatus status(1: string token) throws (1: SchedulerError error)

  // A tenant token sees its own subtree.
  ConsumerTree get_tree(1: string token) throws (1: SchedulerError error)

  // Admin only. Validates the YAML (the `consumers:` list of the
  // configuration file) and applies it without a restart; with dry_run it
  // only validates. Returns the tree now in force.
  ConsumerTree set_tree(1: string token, 2: string yaml, 3: bool dry_run)
      throws (1: SchedulerError error)

  // Sessions whose consumer starts with the prefix ("" or "/": all the
  // caller may see), with their executors.
  list<SessionInfo> list_sessions(1: string token, 2: string consumer_prefix)
      throws (1: SchedulerError error)

  // Admin only. A drained host takes no new slots; its slots are revoked
  // with grace. drain=false brings it back.
  Host drain_host(1: string token, 2: string host, 3: bool drain)
      throws (1: SchedulerError error)

  list<ConsumerUsage> usage(1: string token, 2: string consumer_prefix)
      throws (1: SchedulerError error)

  // Ledger records; a tenant token sees only its own subtrees' records.
  UsagePage export_usage(1: string token, 2: UsageQuery query)
      throws (1: SchedulerError error)

  // A tenant's bill for a month, priced with the rate card.
  Bill billing_report(1: string token, 2: string tenant, 3: string month)
      throws (1: SchedulerError error)
}
