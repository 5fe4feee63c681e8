/*++
 * NAME
 *	ipc/attr0.h - Postfix attr0 attribute lists: writer, parser, reader
 * SYNOPSIS
 *	#include "ipc/attr0.h"
 *
 *	Writer w;
 *	w.Str("request", "seed").Int("size", 32);
 *	Result<std::string> bytes = w.Finish();	// "request\0seed\0size\0" "32\0\0"
 *
 *	Result<Record> rec = ParseRecord(span);	// exactly one record
 *	Attr0Parser p;				// or: bytes arriving in pieces
 *	Result<size_t> used = p.Feed(chunk);	// then p.done(), p.Take()
 *
 *	Reader r(*rec, Reader::kStrict);
 *	Result<std::string> req = r.Str("request");
 *	Result<uint32_t> size = r.Int("size");
 *	Status end = r.End();
 * DESCRIPTION
 *	The attr0 encoding (spec §2.2) is the one Postfix uses on the tlsmgr
 *	and tlsproxy sockets. On the wire a record is
 *
 *	    list   := (simple | group)* NUL
 *	    simple := name NUL value NUL
 *	    group  := "{" NUL (key NUL value NUL)* "}" NUL
 *
 *	Values are text: INT (32-bit) and LONG (64-bit) as unsigned decimal
 *	(a negative status travels as 2^32-n, e.g. -1 as "4294967295"), STR
 *	as the bytes themselves (no NUL), DATA as standard base64 with "="
 *	padding (empty data is the empty string). Types never travel; the
 *	receiver knows the schema.
 *
 *	Writer appends pairs in call order; Finish() adds the end-of-list NUL
 *	and fails if a name or string contained a NUL byte or a limit below
 *	was exceeded.
 *
 *	Attr0Parser is the framing layer: it consumes bytes (all at once or
 *	in pieces), enforces the limits, and yields a Record: the ordered list
 *	of attributes (a HASH group is one Attr with is_group set).
 *	ParseRecord() parses one complete record from a span and rejects
 *	trailing bytes.
 *
 *	Reader is the typed scan over a Record. kStrict (Postfix STRICT) takes
 *	attributes strictly in order: the next attribute must have the
 *	requested name, and End() fails if any attribute is left. kLenient
 *	(Postfix default) skips attributes with other names while looking for
 *	the requested one, and End() ignores the rest. Repeated names are
 *	filled positionally ("timeout" twice in a tlsproxy request).
 * SECURITY
 *	Input is hostile. Every limit is a named constant below and is checked
 *	while bytes arrive: buffers grow only with bytes actually received, up
 *	to the limit, never by a length the peer announces. Numbers are
 *	digits only (no sign, space or "0x"), at most 20 characters, and
 *	overflow is rejected. DATA must be canonical base64 (length a multiple
 *	of 4, padding only at the end, zero pad bits).
 *	Attribute values are cleansed when a Record is destroyed, because
 *	DATA values carry seeds, session blobs and ticket keys.
 * DIAGNOSTICS
 *	Every failure is a Result/Status error with a one-line reason that
 *	names the attribute (never its value), suitable for one log line.
 * CONFIGURATION PARAMETERS
 *	None; the limits are compile-time constants.
 *--*/
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"
#include "util/secret.h"

namespace pftls::ipc {

// Limits (hostile input). A record exceeding any of them is rejected.
inline constexpr size_t kMaxNameLen = 100;           // attribute name / HASH key
inline constexpr size_t kMaxValueLen = 64 * 1024;    // one value as text (base64 for DATA)
inline constexpr size_t kMaxAttrCount = 1100;        // simple attrs + group entries per record
inline constexpr size_t kMaxGroupEntries = 1024;     // entries in one HASH group (ATTR_HASH_LIMIT)
inline constexpr size_t kMaxRecordSize = 256 * 1024; // bytes of one record incl. terminator
inline constexpr size_t kMaxNumberDigits = 20;       // "18446744073709551615"

// One attribute of a record; a HASH group has is_group and entries.
struct Attr {
  Attr() = default;
  Attr(std::string n, std::string v) : name(std::move(n)), value(std::move(v)) {}
  ~Attr();
  Attr(Attr&&) noexcept = default;
  Attr& operator=(Attr&&) noexcept = default;
  Attr(const Attr&) = default;
  Attr& operator=(const Attr&) = default;

  std::string name;
  std::string value;
  bool is_group = false;
  std::vector<std::pair<std::string, std::string>> entries;
};
using Record = std::vector<Attr>;

// Base64Encode - standard alphabet with "=" padding.
std::string Base64Encode(std::span<const uint8_t> bytes);
// Base64Decode - strict canonical decode; error on any non-alphabet byte,
// bad length, misplaced padding or non-zero pad bits.
Result<SecretBytes> Base64Decode(std::string_view text);

// ParseU32/ParseU64 - digits only, no sign, no overflow, 1..20 chars.
Result<uint32_t> ParseU32(std::string_view text);
Result<uint64_t> ParseU64(std::string_view text);

class Writer {
 public:
  Writer& Str(std::string_view name, std::string_view value);
  Writer& Int(std::string_view name, uint32_t value);
  // IntSigned - a 32-bit signed value written as its unsigned image
  // (status -1 -> "4294967295").
  Writer& IntSigned(std::string_view name, int32_t value);
  Writer& Long(std::string_view name, uint64_t value);
  Writer& Data(std::string_view name, std::span<const uint8_t> bytes);
  // Group - one HASH group with the entries in the order given.
  Writer& Group(const std::vector<std::pair<std::string, std::string>>& entries);
  // Finish - the record with its end-of-list NUL, or the first error.
  Result<std::string> Finish();

 private:
  void Name(std::string_view name);
  void Value(std::string_view value);
  std::string out_;
  std::string error_;
  size_t count_ = 0;
};

// Attr0Parser - incremental framing of one record at a time.
class Attr0Parser {
 public:
  // Feed - consume bytes until a record is complete or data runs out.
  // Returns the number of bytes consumed (bytes after a complete record
  // are left for the next record), or an error; after an error the parser
  // must be discarded or Reset().
  Result<size_t> Feed(std::span<const uint8_t> data);
  // done - a complete record is ready for Take().
  bool done() const { return state_ == State::kDone; }
  // started - some bytes of a record have been consumed.
  bool started() const { return total_ > 0; }
  // Take - the complete record; the parser is reset for the next one.
  Record Take();
  void Reset();

 private:
  enum class State { kName, kValue, kGroupKey, kGroupValue, kDone, kFailed };
  Status Token();
  State state_ = State::kName;
  std::string tok_;
  std::string pending_name_;
  Record rec_;
  size_t total_ = 0;
  size_t count_ = 0;
};

// ParseRecord - exactly one complete record, nothing after it.
Result<Record> ParseRecord(std::span<const uint8_t> bytes);
inline Result<Record> ParseRecord(std::string_view bytes) {
  return ParseRecord(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

class Reader {
 public:
  enum Mode { kStrict, kLenient };
  Reader(const Record& rec, Mode mode) : rec_(rec), mode_(mode) {}

  Result<std::string> Str(std::string_view name);
  Result<uint32_t> Int(std::string_view name);
  // IntSigned - the 32-bit unsigned image read back as signed.
  Result<int32_t> IntSigned(std::string_view name);
  Result<uint64_t> Long(std::string_view name);
  Result<SecretBytes> Data(std::string_view name);
  // Group - the next HASH group's entries.
  Result<std::vector<std::pair<std::string, std::string>>> Group();
  // Expect - the attribute exists and has exactly this value (STREQ).
  Status Expect(std::string_view name, std::string_view value);
  // NextIs - the next unread attribute has this name (for optional ones).
  bool NextIs(std::string_view name) const;
  bool AtEnd() const { return pos_ >= rec_.size(); }
  // End - strict: error if anything is left; lenient: always ok.
  Status End() const;

 private:
  Result<const Attr*> Find(std::string_view name);
  const Record& rec_;
  Mode mode_;
  size_t pos_ = 0;
};

}  // namespace pftls::ipc
