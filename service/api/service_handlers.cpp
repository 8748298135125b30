// Sessions and Admin handlers: thin, so every rule lives in the engine.
#include "api/service_handlers.hpp"

#include <thrift/Thrift.h>

#include <boost/asio/post.hpp>

#include "api/convert.hpp"
#include "billing/usage_queries.hpp"
#include "common/event_log.hpp"
#include "idl/Admin.h"
#include "idl/Sessions.h"

namespace sched::api {
namespace {

namespace wire = sched::api;
using Exn = std::function<void(apache::thrift::TDelayedException*)>;
using daemon::Done;

void fail(const Exn& exn, const Status& s) {
  exn(apache::thrift::TDelayedException::delayException(to_error(s)));
}

// Authenticates, then runs `call(principal)` here, off the strand: for reads
// of the ledger, which never touch scheduling state. No exception leaves.
template <typename T, typename Cob, typename Call>
void off_engine(const TokenAuthenticator& auth, const std::string& token, const Cob& cob, const Exn& exn,
                const Call& call) {
  auto who = auth.authenticate(token);
  if (!who) return fail(exn, who.status());
  Result<T> r = Status::internal("not run");
  try {
    r = call(*who);
  } catch (const std::exception& e) {
    log_event(LogLevel::kError, "handler_exception", {{"error", e.what()}});
    r = Status::internal(std::string("internal error: ") + e.what());
  }
  if (!r) return fail(exn, r.status());
  cob(r.value());
}

// Authenticates, then runs `call(principal, reply)` on the engine's strand.
// No exception leaves: one escaping the engine becomes INTERNAL.
template <typename T, typename Cob, typename Call>
void on_engine(daemon::Engine& engine, const TokenAuthenticator& auth, const std::string& token, Cob cob, Exn exn,
               Call call) {
  auto who = auth.authenticate(token);
  if (!who) return fail(exn, who.status());
  boost::asio::post(engine.strand(), [who = std::move(*who), cob = std::move(cob), exn = std::move(exn),
                                      call = std::move(call)]() mutable {
    daemon::Reply<T> reply = [cob, exn](Result<T> r) {
      if (!r) return fail(exn, r.status());
      if constexpr (std::is_same_v<T, Done>) {
        cob();
      } else {
        cob(r.value());
      }
    };
    try {
      call(who, std::move(reply));
    } catch (const std::exception& e) {
      log_event(LogLevel::kError, "handler_exception", {{"error", e.what()}});
      fail(exn, Status::internal(std::string("internal error: ") + e.what()));
    }
  });
}

class SessionsHandler final : public wire::SessionsCobSvIf {
 public:
  SessionsHandler(daemon::Engine& engine, std::shared_ptr<const TokenAuthenticator> auth)
      : engine_(engine), auth_(std::move(auth)) {}

  void register_session(std::function<void(const wire::Registration&)> cob, Exn exn, const std::string& token,
                        const wire::SessionSpec& spec) override {
    on_engine<wire::Registration>(engine_, *auth_, token, std::move(cob), std::move(exn),
                                  [this, spec](const Principal& who, daemon::Reply<wire::Registration> reply) {
                                    engine_.register_session(who, spec, std::move(reply));
                                  });
  }

  void update_demand(std::function<void()> cob, Exn exn, const std::string& token, const std::string& id,
                     const wire::Demand& demand) override {
    on_engine<Done>(engine_, *auth_, token, std::move(cob), std::move(exn),
                    [this, id, demand](const Principal& who, daemon::Reply<Done> reply) {
                      engine_.update_demand(who, id, demand, std::move(reply));
                    });
  }

  void heartbeat(std::function<void(const wire::Directives&)> cob, Exn exn, const std::string& token,
                 const std::string& id, const int64_t known, const int32_t wait_ms) override {
    on_engine<wire::Directives>(
        engine_, *auth_, token, std::move(cob), std::move(exn),
        [this, id, known, wait_ms](const Principal& who, daemon::Reply<wire::Directives> reply) {
          engine_.heartbeat(who, id, known, wait_ms, std::move(reply));
        });
  }

  void acknowledge(std::function<void()> cob, Exn exn, const std::string& token, const std::string& id,
                   const std::vector<std::string>& executors) override {
    on_engine<Done>(engine_, *auth_, token, std::move(cob), std::move(exn),
                    [this, id, executors](const Principal& who, daemon::Reply<Done> reply) {
                      engine_.acknowledge(who, id, executors, std::move(reply));
                    });
  }

  void release(std::function<void()> cob, Exn exn, const std::string& token, const std::string& id,
               const std::string& executor, const int64_t slots) override {
    on_engine<Done>(engine_, *auth_, token, std::move(cob), std::move(exn),
                    [this, id, executor, slots](const Principal& who, daemon::Reply<Done> reply) {
                      engine_.release(who, id, executor, slots, std::move(reply));
                    });
  }

  void unregister_session(std::function<void()> cob, Exn exn, const std::string& token,
                          const std::string& id) override {
    on_engine<Done>(engine_, *auth_, token, std::move(cob), std::move(exn),
                    [this, id](const Principal& who, daemon::Reply<Done> reply) {
                      engine_.unregister_session(who, id, std::move(reply));
                    });
  }

 private:
  daemon::Engine& engine_;
  std::shared_ptr<const TokenAuthenticator> auth_;
};

class AdminHandler final : public wire::AdminCobSvIf {
 public:
  AdminHandler(daemon::Engine& engine, std::shared_ptr<const TokenAuthenticator> auth)
      : engine_(engine), auth_(std::move(auth)) {}

  void status(std::function<void(const wire::ClusterStatus&)> cob, Exn exn, const std::string& token) override {
    on_engine<wire::ClusterStatus>(engine_, *auth_, token, std::move(cob), std::move(exn),
                                   [this](const Principal& who, daemon::Reply<wire::ClusterStatus> reply) {
                                     engine_.status(who, std::move(reply));
                                   });
  }

  void get_tree(std::function<void(const wire::ConsumerTree&)> cob, Exn exn, const std::string& token) override {
    on_engine<wire::ConsumerTree>(engine_, *auth_, token, std::move(cob), std::move(exn),
                                  [this](const Principal& who, daemon::Reply<wire::ConsumerTree> reply) {
                                    engine_.get_tree(who, std::move(reply));
                                  });
  }

  void set_tree(std::function<void(const wire::ConsumerTree&)> cob, Exn exn, const std::string& token,
                const std::string& yaml, const bool dry_run) override {
    on_engine<wire::ConsumerTree>(engine_, *auth_, token, std::move(cob), std::move(exn),
                                  [this, yaml, dry_run](const Principal& who, daemon::Reply<wire::ConsumerTree> reply) {
                                    engine_.set_tree(who, yaml, dry_run, std::move(reply));
                                  });
  }

  void list_sessions(std::function<void(const std::vector<wire::SessionInfo>&)> cob, Exn exn, const std::string& token,
                     const std::string& prefix) override {
    on_engine<std::vector<wire::SessionInfo>>(
        engine_, *auth_, token, std::move(cob), std::move(exn),
        [this, prefix](const Principal& who, daemon::Reply<std::vector<wire::SessionInfo>> reply) {
          engine_.list_sessions(who, prefix, std::move(reply));
        });
  }

  void drain_host(std::function<void(const wire::Host&)> cob, Exn exn, const std::string& token,
                  const std::string& host, const bool drain) override {
    on_engine<wire::Host>(engine_, *auth_, token, std::move(cob), std::move(exn),
                          [this, host, drain](const Principal& who, daemon::Reply<wire::Host> reply) {
                            engine_.drain_host(who, host, drain, std::move(reply));
                          });
  }

  void usage(std::function<void(const std::vector<wire::ConsumerUsage>&)> cob, Exn exn, const std::string& token,
             const std::string& prefix) override {
    on_engine<std::vector<wire::ConsumerUsage>>(
        engine_, *auth_, token, std::move(cob), std::move(exn),
        [this, prefix](const Principal& who, daemon::Reply<std::vector<wire::ConsumerUsage>> reply) {
          engine_.usage(who, prefix, std::move(reply));
        });
  }

  void export_usage(std::function<void(const wire::UsagePage&)> cob, Exn exn, const std::string& token,
                    const wire::UsageQuery& query) override {
    off_engine<wire::UsagePage>(
        *auth_, token, cob, exn, [this, &query](const Principal& who) -> Result<wire::UsagePage> {
          billing::ExportQuery q;
          q.from_ms = query.from_ms;
          q.to_ms = query.to_ms;
          q.tenant = query.tenant;
          q.kind = query.kind;
          q.page_token = query.page_token;
          q.limit = query.limit;
          auto page = billing::export_page(engine_.ledger(), q, engine_.now_ms(), engine_.tenants(),
                                           [&who](std::string_view c) { return who.may_act_on(c); });
          if (!page) return page.status();
          wire::UsagePage out;
          out.records = std::move(page->records);
          out.next_page_token = page->next_page_token;
          return out;
        });
  }

  void billing_report(std::function<void(const wire::Bill&)> cob, Exn exn, const std::string& token,
                      const std::string& tenant, const std::string& month) override {
    off_engine<wire::Bill>(
        *auth_, token, cob, exn, [this, &tenant, &month](const Principal& who) -> Result<wire::Bill> {
          auto b = billing::monthly_bill(engine_.ledger(), engine_.rate_card(), tenant, month, engine_.now_ms(),
                                         engine_.tenants(), [&who](std::string_view c) { return who.may_act_on(c); });
          if (!b) return b.status();
          wire::Bill out;
          out.tenant = b->bill.tenant;
          out.month = b->bill.month;
          out.currency = b->bill.currency;
          out.total = b->bill.total;
          out.month_ended = b->final;
          for (const auto& l : b->bill.lines) {
            wire::BillLine w;
            w.sla = to_api(l.sla);
            w.records = l.records;
            w.cpu_hours = l.cpu_hours();
            w.memory_gib_hours = l.memory_gib_hours();
            w.gpu_hours = l.gpu_hours();
            w.cpu_hour_price = l.prices.cpu_hour;
            w.memory_gib_hour_price = l.prices.memory_gib_hour;
            w.gpu_hour_price = l.prices.gpu_hour;
            w.cost = l.cost;
            out.lines.push_back(w);
          }
          return out;
        });
  }

 private:
  daemon::Engine& engine_;
  std::shared_ptr<const TokenAuthenticator> auth_;
};

}  // namespace

ServiceMap make_services(daemon::Engine& engine, std::shared_ptr<const TokenAuthenticator> auth) {
  ServiceMap m;
  m["Sessions"] = std::make_shared<wire::SessionsAsyncProcessor>(std::make_shared<SessionsHandler>(engine, auth));
  m["Admin"] = std::make_shared<wire::AdminAsyncProcessor>(std::make_shared<AdminHandler>(engine, auth));
  return m;
}

}  // namespace sched::api
