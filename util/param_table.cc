// param_table.cc - the built-in parameter table: every parameter pftls
// reads, with its symbolic default (as Debian's Postfix 3.7.11 "postconf -d"
// prints it), its type, the default unit of time values and its range.
// A name not in the table is still readable as a string (raw value, empty
// default). Defaults that depend on the host (myhostname, mydomain) or the
// process (process_id, process_name) are computed by DefaultFor().
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "util/config.h"

namespace pftls::config {
namespace {

using T = ParamType;

// Sorted by name at first use; entries: name, type, default[, unit, min, max].
// min/max: min applies when either is non-zero, max only when non-zero.
ParamSpec kTable[] = {
    {"config_directory", T::kString, "/etc/pftls"},  // the loaded directory when known
    {"queue_directory", T::kString, "/var/spool/postfix"},
    {"data_directory", T::kString, "/var/lib/postfix"},
    {"daemon_directory", T::kString, "/usr/lib/postfix/sbin"},
    {"command_directory", T::kString, "/usr/sbin"},
    {"meta_directory", T::kString, "/etc/postfix"},
    {"shlib_directory", T::kString, "/usr/lib/postfix"},
    {"mail_owner", T::kString, "postfix"},
    {"setgid_group", T::kString, "postdrop"},
    {"syslog_name", T::kString, "${multi_instance_name?{$multi_instance_name}:{postfix}}"},
    {"syslog_facility", T::kString, "mail"},
    {"multi_instance_name", T::kString, ""},
    {"multi_instance_enable", T::kBool, "no"},
    {"compatibility_level", T::kString, "0"},
    {"mail_name", T::kString, "Postfix"},
    {"mail_version", T::kString, "3.7.11"},
    {"myhostname", T::kString, ""},  // computed: DefaultFor()
    {"mydomain", T::kString, ""},  // computed: DefaultFor()
    {"myorigin", T::kString, "$myhostname"},
    {"mydestination", T::kList, "$myhostname, localhost.$mydomain, localhost"},
    {"relayhost", T::kString, ""},
    {"smtpd_banner", T::kString, "$myhostname ESMTP $mail_name"},
    {"alias_maps", T::kList, "hash:/etc/aliases, nis:mail.aliases"},
    {"inet_interfaces", T::kList, "all"},
    {"inet_protocols", T::kList, "all"},
    {"default_database_type", T::kString, "hash"},
    {"stress", T::kString, ""},
    {"process_id", T::kString, ""},  // computed
    {"process_name", T::kString, ""},  // computed
    {"service_name", T::kString, ""},
    {"max_idle", T::kTime, "100s", 's', 1, 0},
    {"max_use", T::kInt, "100", 's', 1, 0},
    {"daemon_timeout", T::kTime, "18000s", 's', 1, 0},
    {"ipc_timeout", T::kTime, "3600s", 's', 1, 0},
    {"ipc_idle", T::kTime, "5s", 's', 1, 0},
    {"ipc_ttl", T::kTime, "1000s", 's', 1, 0},
    {"service_throttle_time", T::kTime, "60s", 's', 1, 0},
    {"default_process_limit", T::kInt, "100", 's', 1, 0},
    {"tlsmgr_service_name", T::kString, "tlsmgr"},
    {"tlsproxy_service_name", T::kString, "tlsproxy"},
    {"tlsproxy_watchdog_timeout", T::kTime, "10s", 's', 10, 0},
    {"openssl_path", T::kString, "openssl"},
    {"postscreen_command_time_limit", T::kTime, "${stress?{10}:{300}}s", 's', 1, 0},
    {"postscreen_tls_security_level", T::kString, "$smtpd_tls_security_level"},
    {"postscreen_use_tls", T::kBool, "$smtpd_use_tls"},
    {"postscreen_enforce_tls", T::kBool, "$smtpd_enforce_tls"},
    {"smtpd_use_tls", T::kBool, "no"},
    {"smtpd_enforce_tls", T::kBool, "no"},
    {"smtp_use_tls", T::kBool, "no"},
    {"smtp_enforce_tls", T::kBool, "no"},
    {"lmtp_use_tls", T::kBool, "no"},
    {"lmtp_enforce_tls", T::kBool, "no"},
    {"smtp_tls_per_site", T::kList, ""},
    {"lmtp_tls_per_site", T::kList, ""},
    {"smtp_tls_policy_maps", T::kList, ""},
    {"lmtp_tls_policy_maps", T::kList, ""},
    {"smtp_tls_scert_verifydepth", T::kInt, "9", 's', 1, 0},
    {"lmtp_tls_scert_verifydepth", T::kInt, "9", 's', 1, 0},
    {"smtpd_tls_CAfile", T::kString, ""},
    {"smtpd_tls_CApath", T::kString, ""},
    {"smtpd_tls_always_issue_session_ids", T::kBool, "yes"},
    {"smtpd_tls_ask_ccert", T::kBool, "no"},
    {"smtpd_tls_auth_only", T::kBool, "no"},
    {"smtpd_tls_ccert_verifydepth", T::kInt, "9", 's', 1, 0},
    {"smtpd_tls_cert_file", T::kString, ""},
    {"smtpd_tls_chain_files", T::kList, ""},
    {"smtpd_tls_ciphers", T::kString, "medium"},
    {"smtpd_tls_dcert_file", T::kString, ""},
    {"smtpd_tls_dh1024_param_file", T::kString, ""},
    {"smtpd_tls_dh512_param_file", T::kString, ""},
    {"smtpd_tls_dkey_file", T::kString, "$smtpd_tls_dcert_file"},
    {"smtpd_tls_eccert_file", T::kString, ""},
    {"smtpd_tls_eckey_file", T::kString, "$smtpd_tls_eccert_file"},
    {"smtpd_tls_eecdh_grade", T::kString, "auto"},
    {"smtpd_tls_exclude_ciphers", T::kList, ""},
    {"smtpd_tls_fingerprint_digest", T::kString, "${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}"},
    {"smtpd_tls_key_file", T::kString, "$smtpd_tls_cert_file"},
    {"smtpd_tls_loglevel", T::kInt, "0", 's', 0, 0},
    {"smtpd_tls_mandatory_ciphers", T::kString, "medium"},
    {"smtpd_tls_mandatory_exclude_ciphers", T::kList, ""},
    {"smtpd_tls_mandatory_protocols", T::kList, ">=TLSv1"},
    {"smtpd_tls_protocols", T::kList, ">=TLSv1"},
    {"smtpd_tls_received_header", T::kBool, "no"},
    {"smtpd_tls_req_ccert", T::kBool, "no"},
    {"smtpd_tls_security_level", T::kString, ""},
    {"smtpd_tls_session_cache_database", T::kString, ""},
    {"smtpd_tls_session_cache_timeout", T::kTime, "3600s", 's', 0, 8640000},
    {"smtpd_tls_wrappermode", T::kBool, "no"},
    {"tls_append_default_CA", T::kBool, "no"},
    {"tls_config_file", T::kString, "default"},
    {"tls_config_name", T::kString, ""},
    {"tls_daemon_random_bytes", T::kInt, "32", 's', 1, 255},
    {"tls_dane_digests", T::kList, "sha512 sha256"},
    {"tls_disable_workarounds", T::kList, ""},
    {"tls_eecdh_auto_curves", T::kList, "X25519 X448 prime256v1 secp521r1 secp384r1"},
    {"tls_eecdh_strong_curve", T::kString, "prime256v1"},
    {"tls_eecdh_ultra_curve", T::kString, "secp384r1"},
    {"tls_export_cipherlist", T::kString, "aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH"},
    {"tls_fast_shutdown_enable", T::kBool, "yes"},
    {"tls_high_cipherlist", T::kString, "aNULL:-aNULL:HIGH:@STRENGTH"},
    {"tls_legacy_public_key_fingerprints", T::kBool, "no"},
    {"tls_low_cipherlist", T::kString, "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH"},
    {"tls_medium_cipherlist", T::kString, "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH"},
    {"tls_null_cipherlist", T::kString, "eNULL:!aNULL"},
    {"tls_preempt_cipherlist", T::kBool, "no"},
    {"tls_random_bytes", T::kInt, "32", 's', 1, 255},
    {"tls_random_exchange_name", T::kString, "${data_directory}/prng_exch"},
    {"tls_random_prng_update_period", T::kTime, "3600s", 's', 1, 0},
    {"tls_random_reseed_period", T::kTime, "3600s", 's', 1, 0},
    {"tls_random_source", T::kString, "dev:/dev/urandom"},
    {"tls_server_sni_maps", T::kList, ""},
    {"tls_session_ticket_cipher", T::kString, "aes-256-cbc"},
    {"tls_ssl_options", T::kList, ""},
    {"tls_wildcard_matches_multiple_labels", T::kBool, "yes"},
    {"tlsproxy_client_CAfile", T::kString, "$smtp_tls_CAfile"},
    {"tlsproxy_client_CApath", T::kString, "$smtp_tls_CApath"},
    {"tlsproxy_client_cert_file", T::kString, "$smtp_tls_cert_file"},
    {"tlsproxy_client_chain_files", T::kList, "$smtp_tls_chain_files"},
    {"tlsproxy_client_dcert_file", T::kString, "$smtp_tls_dcert_file"},
    {"tlsproxy_client_dkey_file", T::kString, "$smtp_tls_dkey_file"},
    {"tlsproxy_client_eccert_file", T::kString, "$smtp_tls_eccert_file"},
    {"tlsproxy_client_eckey_file", T::kString, "$smtp_tls_eckey_file"},
    {"tlsproxy_client_enforce_tls", T::kBool, "$smtp_enforce_tls"},
    {"tlsproxy_client_fingerprint_digest", T::kString, "$smtp_tls_fingerprint_digest"},
    {"tlsproxy_client_key_file", T::kString, "$smtp_tls_key_file"},
    {"tlsproxy_client_loglevel", T::kInt, "$smtp_tls_loglevel", 's', 0, 0},
    {"tlsproxy_client_loglevel_parameter", T::kString, "smtp_tls_loglevel"},
    {"tlsproxy_client_per_site", T::kList, "$smtp_tls_per_site"},
    {"tlsproxy_client_policy_maps", T::kList, "${tlsproxy_client_policy:$smtp_tls_policy_maps}"},
    {"tlsproxy_client_scert_verifydepth", T::kInt, "$smtp_tls_scert_verifydepth", 's', 1, 0},
    {"tlsproxy_client_security_level", T::kString, "${tlsproxy_client_level:$smtp_tls_security_level}"},
    {"tlsproxy_client_use_tls", T::kBool, "$smtp_use_tls"},
    {"tlsproxy_enforce_tls", T::kBool, "$smtpd_enforce_tls"},
    {"tlsproxy_tls_CAfile", T::kString, "$smtpd_tls_CAfile"},
    {"tlsproxy_tls_CApath", T::kString, "$smtpd_tls_CApath"},
    {"tlsproxy_tls_always_issue_session_ids", T::kBool, "$smtpd_tls_always_issue_session_ids"},
    {"tlsproxy_tls_ask_ccert", T::kBool, "$smtpd_tls_ask_ccert"},
    {"tlsproxy_tls_ccert_verifydepth", T::kInt, "$smtpd_tls_ccert_verifydepth", 's', 1, 0},
    {"tlsproxy_tls_cert_file", T::kString, "$smtpd_tls_cert_file"},
    {"tlsproxy_tls_chain_files", T::kList, "$smtpd_tls_chain_files"},
    {"tlsproxy_tls_ciphers", T::kString, "$smtpd_tls_ciphers"},
    {"tlsproxy_tls_dcert_file", T::kString, "$smtpd_tls_dcert_file"},
    {"tlsproxy_tls_dh1024_param_file", T::kString, "$smtpd_tls_dh1024_param_file"},
    {"tlsproxy_tls_dh512_param_file", T::kString, "$smtpd_tls_dh512_param_file"},
    {"tlsproxy_tls_dkey_file", T::kString, "$smtpd_tls_dkey_file"},
    {"tlsproxy_tls_eccert_file", T::kString, "$smtpd_tls_eccert_file"},
    {"tlsproxy_tls_eckey_file", T::kString, "$smtpd_tls_eckey_file"},
    {"tlsproxy_tls_eecdh_grade", T::kString, "$smtpd_tls_eecdh_grade"},
    {"tlsproxy_tls_exclude_ciphers", T::kList, "$smtpd_tls_exclude_ciphers"},
    {"tlsproxy_tls_fingerprint_digest", T::kString, "$smtpd_tls_fingerprint_digest"},
    {"tlsproxy_tls_key_file", T::kString, "$smtpd_tls_key_file"},
    {"tlsproxy_tls_loglevel", T::kInt, "$smtpd_tls_loglevel", 's', 0, 0},
    {"tlsproxy_tls_mandatory_ciphers", T::kString, "$smtpd_tls_mandatory_ciphers"},
    {"tlsproxy_tls_mandatory_exclude_ciphers", T::kList, "$smtpd_tls_mandatory_exclude_ciphers"},
    {"tlsproxy_tls_mandatory_protocols", T::kList, "$smtpd_tls_mandatory_protocols"},
    {"tlsproxy_tls_protocols", T::kList, "$smtpd_tls_protocols"},
    {"tlsproxy_tls_req_ccert", T::kBool, "$smtpd_tls_req_ccert"},
    {"tlsproxy_tls_security_level", T::kString, "$smtpd_tls_security_level"},
    {"tlsproxy_use_tls", T::kBool, "$smtpd_use_tls"},
    {"smtp_tls_session_cache_database", T::kString, ""},
    {"smtp_tls_session_cache_timeout", T::kTime, "3600s", 's', 0, 8640000},
    {"smtp_tls_loglevel", T::kInt, "0", 's', 0, 0},
    {"smtp_tls_security_level", T::kString, ""},
    {"smtp_tls_enforce_peername", T::kBool, "yes"},
    {"smtp_tls_cert_file", T::kString, ""},
    {"smtp_tls_key_file", T::kString, "$smtp_tls_cert_file"},
    {"smtp_tls_dcert_file", T::kString, ""},
    {"smtp_tls_dkey_file", T::kString, "$smtp_tls_dcert_file"},
    {"smtp_tls_eccert_file", T::kString, ""},
    {"smtp_tls_eckey_file", T::kString, "$smtp_tls_eccert_file"},
    {"smtp_tls_chain_files", T::kList, ""},
    {"smtp_tls_CAfile", T::kString, ""},
    {"smtp_tls_CApath", T::kString, ""},
    {"smtp_tls_ciphers", T::kString, "medium"},
    {"smtp_tls_mandatory_ciphers", T::kString, "medium"},
    {"smtp_tls_exclude_ciphers", T::kList, ""},
    {"smtp_tls_mandatory_exclude_ciphers", T::kList, ""},
    {"smtp_tls_protocols", T::kList, ">=TLSv1"},
    {"smtp_tls_mandatory_protocols", T::kList, ">=TLSv1"},
    {"smtp_tls_fingerprint_digest", T::kString, "${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}"},
    {"smtp_tls_wrappermode", T::kBool, "no"},
    {"lmtp_tls_session_cache_database", T::kString, ""},
    {"lmtp_tls_session_cache_timeout", T::kTime, "3600s", 's', 0, 8640000},
    {"lmtp_tls_loglevel", T::kInt, "0", 's', 0, 0},
    {"lmtp_tls_security_level", T::kString, ""},
    {"lmtp_tls_enforce_peername", T::kBool, "yes"},
    {"lmtp_tls_cert_file", T::kString, ""},
    {"lmtp_tls_key_file", T::kString, "$lmtp_tls_cert_file"},
    {"lmtp_tls_dcert_file", T::kString, ""},
    {"lmtp_tls_dkey_file", T::kString, "$lmtp_tls_dcert_file"},
    {"lmtp_tls_eccert_file", T::kString, ""},
    {"lmtp_tls_eckey_file", T::kString, "$lmtp_tls_eccert_file"},
    {"lmtp_tls_chain_files", T::kList, ""},
    {"lmtp_tls_CAfile", T::kString, ""},
    {"lmtp_tls_CApath", T::kString, ""},
    {"lmtp_tls_ciphers", T::kString, "medium"},
    {"lmtp_tls_mandatory_ciphers", T::kString, "medium"},
    {"lmtp_tls_exclude_ciphers", T::kList, ""},
    {"lmtp_tls_mandatory_exclude_ciphers", T::kList, ""},
    {"lmtp_tls_protocols", T::kList, ">=TLSv1"},
    {"lmtp_tls_mandatory_protocols", T::kList, ">=TLSv1"},
    {"lmtp_tls_fingerprint_digest", T::kString, "${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}"},
    {"lmtp_tls_wrappermode", T::kBool, "no"},
    // pftls additions (DESIGN.md §4).
    {"pftls_session_cache_max_entries", T::kLong, "100000", 's', 0, 0},
    {"pftls_tlsmgr_statistics_interval", T::kTime, "3600s", 's', 0, 0},
    {"pftls_sandbox_debug", T::kBool, "no"},
    {"pftls_sandbox_selftest", T::kString, ""},
    {"pftls_ticket_master_key_file", T::kString, ""},
    {"smtpfront_relay", T::kString, ""},
    {"smtpfront_tls_security_level", T::kString, "$smtpd_tls_security_level"},
    {"smtpfront_tls_wrappermode", T::kBool, "no"},
    {"smtpfront_timeout", T::kTime, "300s", 's', 1, 0},
    {"smtpfront_tls_timeout", T::kTime, "$postscreen_command_time_limit", 's', 1, 0},
    {"smtpfront_client_connection_limit", T::kInt, "50", 's', 0, 0},
    {"smtpfront_connection_limit", T::kInt, "1000", 's', 0, 0},
    {"tlsfront_relay", T::kString, ""},
    {"tlsfront_proxy_protocol", T::kString, "none"},
    {"tlsfront_tls_alpn", T::kString, ""},
    {"tlsfront_direct_relay", T::kBool, "yes"},
    {"tlsfront_timeout", T::kTime, "300s", 's', 1, 0},
    {"tlsfront_session_time_limit", T::kTime, "0s", 's', 0, 0},
    {"tlsfront_tls_timeout", T::kTime, "60s", 's', 1, 0},
    {"tlsfront_client_connection_limit", T::kInt, "0", 's', 0, 0},
    {"tlsfront_connection_limit", T::kInt, "1000", 's', 0, 0},
};

bool ByName(const ParamSpec& a, const ParamSpec& b) { return std::strcmp(a.name, b.name) < 0; }

const ParamSpec* Sorted() {
  static const bool sorted = [] {
    std::sort(std::begin(kTable), std::end(kTable), ByName);
    return true;
  }();
  (void)sorted;
  return kTable;
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == 0) return "localhost.localdomain";
  std::string h = buf;
  if (h.find('.') == std::string::npos) h += ".localdomain";
  return h;
}

}  // namespace

const ParamSpec* FindParam(std::string_view name) {
  const ParamSpec* t = Sorted();
  size_t n = std::size(kTable);
  const ParamSpec* it = std::lower_bound(t, t + n, name, [](const ParamSpec& p, std::string_view k) {
    return std::string_view(p.name) < k;
  });
  if (it != t + n && std::string_view(it->name) == name) return it;
  return nullptr;
}

std::vector<const ParamSpec*> AllParams() {
  const ParamSpec* t = Sorted();
  std::vector<const ParamSpec*> out;
  for (size_t i = 0; i < std::size(kTable); ++i) out.push_back(&t[i]);
  return out;
}

std::optional<std::string> DefaultFor(std::string_view name) {
  if (name == "myhostname") return HostName();
  if (name == "mydomain") {
    std::string h = HostName();
    size_t dot = h.find('.');
    return dot == std::string::npos || dot + 1 >= h.size() ? std::string("localdomain") : h.substr(dot + 1);
  }
  if (name == "process_id") return std::to_string(getpid());
  if (name == "process_name") return std::string(program_invocation_short_name);
  if (const ParamSpec* p = FindParam(name)) return std::string(p->default_value);
  return std::nullopt;
}

long SanitizeCacheTimeout(long seconds) {
  if (seconds <= 0) return 0;
  if (seconds < kTlsSessionLifeMin) return kTlsSessionLifeMin;
  if (seconds > kTlsSessionLifeMax) return kTlsSessionLifeMax;
  return seconds;
}

}  // namespace pftls::config
