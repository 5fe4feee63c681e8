/*++
 * NAME
 *	util/master_proto.h - the master(8) <-> daemon conventions
 * SYNOPSIS
 *	#include "util/master_proto.h"
 *
 *	master_proto::kFlowReadFd, kFlowWriteFd, kStatusFd, kListenFd
 *	master_proto::StatusRecord rec{getpid(), generation, kStatAvail};
 *	master_proto::WriteStatus(master_proto::kStatusFd, rec);
 *	std::optional<StatusRecord> r = master_proto::DecodeStatus(bytes);
 * DESCRIPTION
 *	Facts shared by our master (master/) and the daemon skeleton
 *	(util/daemon.h), per spec §9.1:
 *
 *	Descriptors: 3 = flow-control pipe, read end; 4 = its write end;
 *	5 = status channel to master (write side); 6.. = the service's
 *	listening sockets, "-s N" of them (default 1).
 *
 *	Status record: the 12-byte native struct {int pid; unsigned
 *	generation; int avail}, avail 0 = TAKEN, 1 = AVAIL. A record is
 *	written with a single write(2) of 12 bytes, which a pipe delivers
 *	atomically (12 < PIPE_BUF). Master ignores records of another
 *	generation. A child starts counted as AVAIL; a TAKEN -> AVAIL
 *	transition is one completed use.
 *
 *	pftls extension: avail 2 = READY, written once by a daemon whose
 *	environment has PFTLS_READY_STATUS=1, after its jail and before
 *	its first accept (configuration, keys and certificates loaded). Only
 *	our master sets that variable (it uses READY to keep the processes of
 *	the previous configuration serving until a process of the new one
 *	has started, see master(8)); Postfix's master(8) never sets it and
 *	so never sees the record.
 *
 *	Environment: GENERATION (octal, as master writes it), MAIL_CONFIG,
 *	PFTLS_READY_STATUS.
 *	A wake-up is a connection on which master writes the single byte
 *	kWakeupByte and closes.
 * SECURITY
 *	DecodeStatus() accepts only avail 0, 1 or 2; master additionally checks
 *	that the pid is one of its children of that service.
 * DIAGNOSTICS
 *	WriteStatus() returns false with errno set when the write failed or
 *	was short (master gone: EPIPE).
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <unistd.h>

#include <cstring>
#include <optional>
#include <string_view>

namespace pftls::master_proto {

inline constexpr int kFlowReadFd = 3;
inline constexpr int kFlowWriteFd = 4;
inline constexpr int kStatusFd = 5;
inline constexpr int kListenFd = 6;

inline constexpr int kStatTaken = 0;
inline constexpr int kStatAvail = 1;
inline constexpr int kStatReady = 2;  // pftls: started, before the first accept
inline constexpr const char* kReadyEnv = "PFTLS_READY_STATUS";
inline constexpr char kWakeupByte = 'W';
inline constexpr const char* kGenerationEnv = "GENERATION";

struct StatusRecord {
  int pid;
  unsigned generation;
  int avail;
};
static_assert(sizeof(StatusRecord) == 12, "master(8) status record is 12 bytes");

// WriteStatus - one atomic 12-byte write; false (errno set) on failure.
inline bool WriteStatus(int fd, const StatusRecord& rec) {
  ssize_t n = ::write(fd, &rec, sizeof(rec));
  return n == static_cast<ssize_t>(sizeof(rec));
}

// DecodeStatus - a record from exactly 12 bytes; nullopt when avail is bogus.
inline std::optional<StatusRecord> DecodeStatus(std::string_view bytes) {
  if (bytes.size() != sizeof(StatusRecord)) return std::nullopt;
  StatusRecord rec;
  std::memcpy(&rec, bytes.data(), sizeof(rec));
  if (rec.avail != kStatTaken && rec.avail != kStatAvail && rec.avail != kStatReady) return std::nullopt;
  return rec;
}

}  // namespace pftls::master_proto
