//! sha256d nonce scan with the SHA extensions (SHA-NI): P nonces in flight at once so that the latency of
//! sha256rnds2 overlaps. Only called when CPUID reports SHA; only compiled into builds whose target has it.
const std = @import("std");
const sha = @import("sha256.zig");
const target_mod = @import("target.zig");

const V4 = @Vector(4, u32);

/// Nonces hashed together per step (measured on Zen 5: 1 -> 16.4, 3 -> 26.1, 4 -> 27.0, 6 -> 27.8 MH/s; 4 keeps spills low).
pub const P = 4;

inline fn rnds2(cdgh: V4, abef: V4, wk: V4) V4 {
    return asm ("sha256rnds2 %[abef], %[cdgh]"
        : [cdgh] "=x" (-> V4),
        : [_] "0" (cdgh),
          [abef] "x" (abef),
          [_] "{xmm0}" (wk),
    );
}

inline fn msg1(a: V4, b: V4) V4 {
    return asm ("sha256msg1 %[b], %[a]"
        : [a] "=x" (-> V4),
        : [_] "0" (a),
          [b] "x" (b),
    );
}

inline fn msg2(a: V4, b: V4) V4 {
    return asm ("sha256msg2 %[b], %[a]"
        : [a] "=x" (-> V4),
        : [_] "0" (a),
          [b] "x" (b),
    );
}

/// _mm_alignr_epi8(a, b, 4): words b1 b2 b3 a0.
inline fn alignr4(a: V4, b: V4) V4 {
    return @shuffle(u32, b, a, @Vector(4, i32){ 1, 2, 3, ~@as(i32, 0) });
}

/// The high two words moved down, so the second rnds2 of a group takes them.
inline fn high(x: V4) V4 {
    return @shuffle(u32, x, undefined, @Vector(4, i32){ 2, 3, 0, 0 });
}

/// State in the register layout SHA-NI works in: ABEF = (f, e, b, a), CDGH = (h, g, d, c), lane 0 first.
const Packed = struct { abef: V4, cdgh: V4 };

fn pack(s: [8]u32) Packed {
    return .{ .abef = .{ s[5], s[4], s[1], s[0] }, .cdgh = .{ s[7], s[6], s[3], s[2] } };
}

inline fn unpackLo(p: Packed) V4 {
    return .{ p.abef[3], p.abef[2], p.cdgh[3], p.cdgh[2] }; // a b c d
}

inline fn unpackHi(p: Packed) V4 {
    return .{ p.abef[1], p.abef[0], p.cdgh[1], p.cdgh[0] }; // e f g h
}

/// One compression of each of P message blocks (16 words as 4 vectors) into P states.
inline fn compress(st: *[P]Packed, msg: *const [P][4]V4) void {
    @setEvalBranchQuota(100000);
    var m = msg.*;
    var abef: [P]V4 = undefined;
    var cdgh: [P]V4 = undefined;
    inline for (0..P) |p| {
        abef[p] = st[p].abef;
        cdgh[p] = st[p].cdgh;
    }
    inline for (0..16) |g| {
        const kv: V4 = sha.k[4 * g ..][0..4].*;
        inline for (0..P) |p| {
            const cur = m[p][g % 4];
            const wk = cur +% kv;
            cdgh[p] = rnds2(cdgh[p], abef[p], wk);
            if (g >= 3 and g <= 14) {
                const prev = m[p][(g + 3) % 4];
                m[p][(g + 1) % 4] = msg2(m[p][(g + 1) % 4] +% alignr4(cur, prev), cur);
            }
            abef[p] = rnds2(abef[p], cdgh[p], high(wk));
            if (g >= 1 and g <= 12) {
                m[p][(g + 3) % 4] = msg1(m[p][(g + 3) % 4], cur);
            }
        }
    }
    inline for (0..P) |p| {
        st[p].abef +%= abef[p];
        st[p].cdgh +%= cdgh[p];
    }
}

/// Same contract as sha256d.scan, with SHA-NI.
pub fn scan(header: *const [80]u8, start: u32, count: u32, target: *const [32]u8, out: []u32) u32 {
    const w = sha.wordsBE(19, header[0..76]);
    var mid1 = sha.Lanes(1).initState();
    var b1: sha.Lanes(1).Block = undefined;
    inline for (0..16) |i| b1[i] = @splat(w[i]);
    sha.Lanes(1).compress(&mid1, &b1);
    var mid_words: [8]u32 = undefined;
    inline for (0..8) |i| mid_words[i] = mid1[i][0];
    const mid = pack(mid_words);
    const iv = pack(sha.iv);

    const limit = target_mod.top32(target);
    const end: u64 = @as(u64, start) + count;
    var hits: u32 = 0;
    var base: u64 = start;
    while (base < end) : (base += P) {
        var st: [P]Packed = undefined;
        var msg: [P][4]V4 = undefined;
        inline for (0..P) |p| {
            const nonce: u32 = @truncate(base + p);
            st[p] = mid;
            msg[p] = .{ .{ w[16], w[17], w[18], @byteSwap(nonce) }, .{ 0x80000000, 0, 0, 0 }, .{ 0, 0, 0, 0 }, .{ 0, 0, 0, 640 } };
        }
        compress(&st, &msg);
        inline for (0..P) |p| {
            msg[p] = .{ unpackLo(st[p]), unpackHi(st[p]), .{ 0x80000000, 0, 0, 0 }, .{ 0, 0, 0, 256 } };
            st[p] = iv;
        }
        compress(&st, &msg);
        inline for (0..P) |p| {
            // Digest word 7 is h, lane 0 of CDGH; byte-swapped it is the top 32 bits of the hash as a number.
            if (@byteSwap(st[p].cdgh[0]) <= limit and base + p < end) {
                const nonce: u32 = @truncate(base + p);
                var hdr = header.*;
                std.mem.writeInt(u32, hdr[76..80], nonce, .little);
                const digest = sha.sha256d80(&hdr);
                if (target_mod.meets(&digest, target)) {
                    if (hits < out.len) out[hits] = nonce;
                    hits += 1;
                }
            }
        }
    }
    return hits;
}
