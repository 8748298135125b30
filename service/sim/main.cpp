// session-sim: replays a scheduling scenario in virtual time and prints one
// JSON line per step (and, on request, a readable timeline).
#include <cstring>
#include <iostream>
#include <string>

#include "sim/simulator.hpp"

namespace {

void usage(std::ostream& o) {
  o << "usage: session-sim [--timeline] [--decisions] SCENARIO.yaml\n"
       "  Replays SCENARIO in virtual time. Each step applies its changes, then time\n"
       "  advances until every reclaim has completed; one JSON line per step goes to\n"
       "  stdout: {\"step\":N,\"time_s\":T,\"alloc\":{...},\"sessions\":{...},\"preempted\":[...]}\n"
       "  --timeline   also print a readable timeline to stderr\n"
       "  --decisions  also print every decision (grant, revoke, reclaim, release)\n"
       "Exit status: 0 on success, 2 for a bad scenario (the message names the field\n"
       "and line), 1 for anything else.\n";
}

}  // namespace

int main(int argc, char** argv) {
  bool timeline = false;
  bool decisions = false;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--timeline")
      timeline = true;
    else if (a == "--decisions")
      decisions = true;
    else if (a == "-h" || a == "--help") {
      usage(std::cout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "session-sim: unknown option " << a << "\n";
      usage(std::cerr);
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      std::cerr << "session-sim: only one scenario file, please\n";
      return 2;
    }
  }
  if (path.empty()) {
    usage(std::cerr);
    return 2;
  }
  auto scenario = sched::sim::load_scenario(path);
  if (!scenario) {
    std::cerr << "session-sim: " << scenario.status().message() << "\n";
    return 2;
  }
  sched::sim::Simulator sim(std::move(*scenario));
  const sched::Status st = sim.run(std::cout, timeline ? &std::cerr : nullptr, decisions);
  std::cout.flush();
  if (!st.is_ok()) {
    std::cerr << "session-sim: " << st.message() << "\n";
    return st.code() == sched::StatusCode::kInternal ? 1 : 2;
  }
  return 0;
}
