// master/supervisor.h - the service table and the master's life: load,
// reap children, reload on SIGHUP, stop on SIGTERM/SIGINT.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "master/context.h"
#include "master/pool.h"
#include "util/config.h"
#include "util/handles.h"

namespace pftls::master {

inline constexpr int kStopGraceSeconds = 5;

class Supervisor {
 public:
  Supervisor(MasterContext& ctx, ArgvOptions argv_opts) : ctx_(ctx), argv_opts_(argv_opts) {}
  ~Supervisor();
  // Apply - make the service table match cfg + master.cf (first load or
  // reload): keep unchanged listeners, retire old children, new pools.
  Status Apply(const config::Config& cfg, const std::vector<config::MasterService>& entries);
  // Run - signal events and the loop; returns when stopped.
  void Run();

 private:
  static void OnSigchld(evutil_socket_t, short, void*);
  static void OnSighup(evutil_socket_t, short, void*);
  static void OnSigterm(evutil_socket_t, short, void*);
  static void OnGraceEnd(evutil_socket_t, short, void*);
  static void OnSettle(evutil_socket_t, short, void*);
  void Settle();
  void RetirePool(Pool& pool, bool stop_now, bool remove_socket);
  void Reap();
  void Reload();
  void BeginStop(int sig);
  size_t LiveChildren() const;

  MasterContext& ctx_;
  ArgvOptions argv_opts_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;
  // Reload: new pools on probation, keyed like pools_; the old pool of
  // the same key keeps serving until its successor is proven.
  std::map<std::string, std::unique_ptr<Pool>> probation_;
  std::set<std::string> proven_;  // probation keys to commit (Settle)
  EventPtr settle_ev_;
  std::map<pid_t, std::string> retired_;  // pid -> path, old generations
  std::vector<EventPtr> signal_events_;
  EventPtr grace_timer_;
};

// ReadConfig - main.cf and master.cf of ctx.config_dir.
Status ReadConfig(const std::string& config_dir, std::optional<config::Config>* cfg,
                  std::vector<config::MasterService>* entries);

}  // namespace pftls::master
