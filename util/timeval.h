/*++
 * NAME
 *	util/timeval.h - std::chrono durations as struct timeval (libevent)
 * SYNOPSIS
 *	#include "util/timeval.h"
 *
 *	timeval tv = ToTimeval(deadline - std::chrono::steady_clock::now());
 *	evtimer_add(ev, &tv);
 * DESCRIPTION
 *	ToTimeval() converts any duration to seconds and microseconds; a
 *	negative duration (a deadline already passed) becomes zero, so the
 *	timer fires at once.
 * SECURITY
 *	None.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <sys/time.h>

#include <chrono>

namespace pftls {

template <class Rep, class Period>
timeval ToTimeval(std::chrono::duration<Rep, Period> d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  if (us < 0) us = 0;
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

}  // namespace pftls
