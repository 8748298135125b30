// What an executor pod's status means for the executor: still starting,
// running, or ended and why (exit code, OOMKilled, Evicted, deleted).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "core/resources.hpp"

namespace sched::backend::k8s {

enum class PodPhase : std::uint8_t { kPending, kRunning, kSucceeded, kFailed };

struct PodView {
  std::string name;
  std::string uid;
  std::string executor_id;  // from the executor-id annotation; empty: not one of ours
  std::string instance;     // the daemon instance label
  std::string node;
  PodPhase phase = PodPhase::kPending;
  bool deleting = false;  // metadata.deletionTimestamp is set
  int exit_code = -1000;  // the executor container's, when it terminated; -1000 unknown
  std::string reason;     // OOMKilled, Evicted, Error, ImagePullBackOff, Unschedulable, ...
  std::string message;
  // The executor container's cpu and memory requests as the spec has them
  // now (in-place resizes included), in base units.
  core::Resources requests;

  bool ended() const { return phase == PodPhase::kSucceeded || phase == PodPhase::kFailed; }
  // "OOMKilled (exit 137)", "Evicted: The node was low on resource: memory".
  std::string describe() const;
};

// Annotation and label keys the backend puts on its pods.
inline constexpr const char* kInstanceLabel = "session-scheduler.io/instance";
inline constexpr const char* kExecutorLabel = "session-scheduler.io/executor";
inline constexpr const char* kSessionLabel = "session-scheduler.io/session";
inline constexpr const char* kConsumerLabel = "session-scheduler.io/consumer";
inline constexpr const char* kExecutorIdAnnotation = "session-scheduler.io/executor-id";
inline constexpr const char* kSessionIdAnnotation = "session-scheduler.io/session-id";
inline constexpr const char* kConsumerAnnotation = "session-scheduler.io/consumer";
inline constexpr const char* kExecutorContainer = "executor";

PodView read_pod(const nlohmann::json& pod);

}  // namespace sched::backend::k8s
