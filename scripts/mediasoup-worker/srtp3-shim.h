// Force-included into the worker build: maps the libsrtp 3 calls mediasoup makes onto Debian's libsrtp2 API (no libsrtp3 package exists).
#ifndef LIVECUE_SRTP3_SHIM_H
#define LIVECUE_SRTP3_SHIM_H

#ifdef __cplusplus

#include <srtp2/srtp.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

// Error codes added in libsrtp 3 (same numeric values as libsrtp 3). The enum
// of libsrtp2 ends at 27, so 28 and 29 are within its range of values.
static constexpr srtp_err_status_t srtp_err_status_buffer_small =
  static_cast<srtp_err_status_t>(28);
static constexpr srtp_err_status_t srtp_err_status_cryptex_err =
  static_cast<srtp_err_status_t>(29);

// libsrtp 3 renamed srtp_remove_stream().
static inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}

namespace livecue_srtp3_shim
{
	// Copies `in` to `out` (when they differ) and checks that `out` can hold
	// `inLen + extra` bytes, as libsrtp2 works in place on a single buffer.
	static inline srtp_err_status_t Prepare(
	  const uint8_t* in, size_t inLen, uint8_t* out, size_t outCapacity, size_t extra, int* intLen)
	{
		if (in == nullptr || out == nullptr)
		{
			return srtp_err_status_bad_param;
		}

		if (inLen > static_cast<size_t>(INT_MAX) - extra || outCapacity < inLen + extra)
		{
			return srtp_err_status_buffer_small;
		}

		if (out != in)
		{
			std::memmove(out, in, inLen);
		}

		*intLen = static_cast<int>(inLen);

		return srtp_err_status_ok;
	}

	// Protect functions of libsrtp2 (in place, with or without MKI).
	using ProtectFn    = srtp_err_status_t (*)(srtp_t, void*, int*);
	using ProtectMkiFn = srtp_err_status_t (*)(srtp_t, void*, int*, unsigned int, unsigned int);

	static inline srtp_err_status_t Protect(
	  ProtectFn protect,
	  ProtectMkiFn protectMki,
	  size_t maxTrailer,
	  srtp_t ctx,
	  const uint8_t* in,
	  size_t inLen,
	  uint8_t* out,
	  size_t* outLen,
	  size_t mkiIndex)
	{
		if (outLen == nullptr)
		{
			return srtp_err_status_bad_param;
		}

		int len = 0;
		srtp_err_status_t err = Prepare(in, inLen, out, *outLen, maxTrailer, &len);

		if (err != srtp_err_status_ok)
		{
			return err;
		}

		// libsrtp 3 ignores the MKI index when the policy has no MKI; mediasoup
		// never configures one and always passes 0.
		err = (mkiIndex == 0) ? protect(ctx, out, &len)
		                      : protectMki(ctx, out, &len, 1, static_cast<unsigned int>(mkiIndex));

		if (err == srtp_err_status_ok)
		{
			*outLen = static_cast<size_t>(len);
		}

		return err;
	}

	static inline srtp_err_status_t Unprotect(
	  ProtectFn unprotect, srtp_t ctx, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen)
	{
		if (outLen == nullptr)
		{
			return srtp_err_status_bad_param;
		}

		int len = 0;
		srtp_err_status_t err = Prepare(in, inLen, out, *outLen, 0, &len);

		if (err != srtp_err_status_ok)
		{
			return err;
		}

		err = unprotect(ctx, out, &len);

		if (err == srtp_err_status_ok)
		{
			*outLen = static_cast<size_t>(len);
		}

		return err;
	}
} // namespace livecue_srtp3_shim

// libsrtp 3 signatures (separate input and output buffers, size_t lengths).
// They overload, by parameter list, the libsrtp2 in-place functions.

static inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t mkiIndex)
{
	return livecue_srtp3_shim::Protect(
	  ::srtp_protect, ::srtp_protect_mki, SRTP_MAX_TRAILER_LEN, ctx, rtp, rtpLen, srtp, srtpLen, mkiIndex);
}

static inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t mkiIndex)
{
	// libsrtp2 may append SRTP_MAX_TRAILER_LEN + 4 bytes (SRTCP index) to RTCP.
	return livecue_srtp3_shim::Protect(
	  ::srtp_protect_rtcp,
	  ::srtp_protect_rtcp_mki,
	  SRTP_MAX_TRAILER_LEN + 4,
	  ctx, rtcp, rtcpLen, srtcp, srtcpLen, mkiIndex);
}

static inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	return livecue_srtp3_shim::Unprotect(::srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen);
}

static inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	return livecue_srtp3_shim::Unprotect(::srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen);
}

#endif // __cplusplus

#endif // LIVECUE_SRTP3_SHIM_H
