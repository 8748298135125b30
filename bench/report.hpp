// Renders bench/README.md from scheduler-bench's JSON figures and YuniKorn's JSON lines.
#pragma once

namespace sched::bench {

// `scheduler-bench report ...`: argv[0] is "report". Returns the process exit code.
int render_report(int argc, char** argv);

}  // namespace sched::bench
