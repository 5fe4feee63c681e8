/*++
 * NAME
 *	ipc/server.h - asynchronous attr0 server on libevent with a routing table
 * SYNOPSIS
 *	#include "ipc/server.h"
 *
 *	ServerOptions o;
 *	o.service = "tlsmgr"; o.protocol = "tlsmgr_protocol"; o.route_attr = "request";
 *	std::vector<Route> routes = {{"seed", OnSeed}, {"policy", OnPolicy}};
 *	Server srv(base, std::move(listen_fd), o, std::move(routes));
 *	Status s = srv.Start();
 *	event_base_dispatch(base);
 *
 *	Next OnSeed(Connection& c, const Record& rec) {
 *	    c.Send(bytes); return Next::kContinue;
 *	}
 * DESCRIPTION
 *	Server accepts connections on a listening UNIX (or TCP) socket. For
 *	each connection it
 *
 *	1. writes the announcement "protocol=<protocol>" (spec §2.5) unless
 *	   ServerOptions::protocol is empty;
 *	2. reads one attr0 record at a time (Attr0Parser: size caps enforced
 *	   as bytes arrive), with a deadline of read_timeout measured from
 *	   the first byte of the record, and closes connections idle for
 *	   idle_timeout between records;
 *	3. routes the record: with route_attr set (tlsmgr: "request") the
 *	   first attribute must be route_attr and its value selects the
 *	   Route; without it every record goes to the Route named "";
 *	   a record matching no route goes to ServerOptions::unknown if set,
 *	   otherwise it is a protocol violation;
 *	4. calls the handler, which queues replies with Connection::Send()
 *	   and returns Next::kContinue (read the next request) or
 *	   Next::kClose (close once replies are written).
 *
 *	Many connections are served at once, each with any number of
 *	sequential requests. A master(8) wake-up (the first read on a
 *	connection has at most 2 bytes, e.g. "W") closes the connection
 *	without a log line unless verbose.
 *
 *	Connection::HandOff(fn) stops reading, waits for queued output to be
 *	written, then removes the connection from the server and calls
 *	fn(socket, unread_input) - tlsproxy uses this to take over a
 *	front-end connection after its status reply.
 *
 *	Public API:
 *	Server(base, listen_fd, options, routes) - does not start listening.
 *	Server::Start() - register the listener with the event base.
 *	Server::Stop() - stop accepting and close every connection.
 *	Server::connections() - number of open connections.
 *	Connection::Send(bytes) - queue bytes (one encoded record) to write.
 *	Connection::HandOff(fn) - give the socket away after output drains.
 *	Connection::id(), Connection::fd(), Connection::name() - identity.
 * SECURITY
 *	Peers are hostile: a malformed record, an oversized record, an
 *	unknown route, a missed deadline or a handler's Next::kClose drop
 *	only that peer; a violation is logged once as a warning. The server
 *	never passes or accepts descriptors itself. Constructing a Server
 *	sets SIGPIPE to SIG_IGN (libevent writes with writev()), so a peer
 *	that hangs up yields EPIPE instead of killing the process.
 * DIAGNOSTICS
 *	"warning: <service>: <name>: <reason>; dropping connection".
 * CONFIGURATION PARAMETERS
 *	None directly; callers map ipc_timeout/ipc_idle to read_timeout
 *	and idle_timeout.
 *--*/
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ipc/attr0.h"
#include "util/fd.h"
#include "util/handles.h"
#include "util/result.h"

namespace pftls::ipc {

enum class Next { kContinue, kClose };

class Server;

class Connection {
 public:
  using HandOffFn = std::function<void(UniqueFd sock, std::string unread)>;

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Send - queue bytes for the peer (written in order). Replies to the
  // requests of one read are written together, with one send(2) when the
  // socket takes them (no write event armed); the rest waits for
  // writability.
  void Send(std::string_view bytes);
  // HandOff - see DESCRIPTION; the handler should then return kContinue.
  void HandOff(HandOffFn fn);
  uint64_t id() const { return id_; }
  // Key - only Server can create connections.
  class Key {
    friend class Server;
    Key() = default;
  };
  Connection(Key, Server* server, uint64_t id, UniqueFd fd);
  int fd() const { return fd_.get(); }
  // name - "<service>[<id>]" for log lines.
  const std::string& name() const { return name_; }

 private:
  friend class Server;
  Status Start();
  void OnRead();
  void OnWritten();
  void OnEvent(short what);
  void OnTimer();
  void ArmIdle();
  void Violation(const std::string& reason);
  void Finish();  // remove from the server (destroys *this)
  bool Dispatch(const Record& rec);
  void Flush();

  static void ReadCb(bufferevent*, void* arg);
  static void WriteCb(bufferevent*, void* arg);
  static void EventCb(bufferevent*, short what, void* arg);
  static void TimerCb(evutil_socket_t, short, void* arg);

  Server* server_;
  uint64_t id_;
  std::string name_;
  UniqueFd fd_;  // declared before the events so they are freed first
  BufferEventPtr bev_;
  EventPtr timer_;
  Attr0Parser parser_;
  bool first_read_ = true;
  bool in_read_ = false;  // Send() collects into out_ until the read is done
  std::string out_;
  bool closing_ = false;  // close once output is written
  HandOffFn handoff_;
};

using Handler = std::function<Next(Connection&, const Record&)>;

struct Route {
  std::string name;  // value of route_attr, or "" for single-route roles
  Handler handler;
};

struct ServerOptions {
  std::string service = "ipc";       // log prefix
  std::string protocol;              // announcement value; empty: none
  std::string route_attr;            // e.g. "request"; empty: route ""
  std::chrono::milliseconds read_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(3600)};
  size_t max_connections = 1024;
  bool master_trigger = true;        // treat a first read of <= 2 bytes as a wake-up
  Handler unknown;                   // record matching no route; null: violation
};

class Server {
 public:
  Server(event_base* base, UniqueFd listen_fd, ServerOptions options, std::vector<Route> routes);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Status Start();
  void Stop();
  // Adopt - serve a connection someone else accepted (a daemon skeleton
  // that owns the listener). Works without Start() and without a listener.
  void Adopt(UniqueFd fd) { Accept(std::move(fd)); }
  size_t connections() const { return conns_.size(); }
  const ServerOptions& options() const { return opts_; }

 private:
  friend class Connection;
  static void AcceptCb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg);
  static void AcceptErrorCb(evconnlistener*, void* arg);
  void Accept(UniqueFd fd);
  void Remove(uint64_t id);
  const Route* FindRoute(const std::string& name) const;

  event_base* base_;
  ServerOptions opts_;
  std::vector<Route> routes_;
  UniqueFd listen_fd_;
  EvConnListenerPtr listener_;
  std::map<uint64_t, std::unique_ptr<Connection>> conns_;
  uint64_t next_id_ = 1;
};

}  // namespace pftls::ipc
