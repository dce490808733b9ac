//! SHA-256 compression over L independent lanes at once (@Vector(L, u32)).
//! L = 1 is the scalar path; the SIMD width is chosen by the caller per build variant.
const std = @import("std");

pub const iv = [8]u32{
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

pub const k = [64]u32{
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/// The state and message types for L lanes.
pub fn Lanes(comptime L: usize) type {
    return struct {
        pub const V = @Vector(L, u32);
        pub const State = [8]V;
        pub const Block = [16]V;

        /// Broadcast one scalar word to every lane.
        pub inline fn splat(x: u32) V {
            return @splat(x);
        }

        inline fn rotr(x: V, comptime n: u5) V {
            return (x >> @splat(n)) | (x << @splat(@as(u5, @intCast(32 - @as(u6, n)))));
        }

        /// The initial hash value in every lane.
        pub fn initState() State {
            var s: State = undefined;
            inline for (0..8) |i| s[i] = splat(iv[i]);
            return s;
        }

        /// One SHA-256 compression of `block` into `state`, lane by lane.
        pub inline fn compress(state: *State, block: *const Block) void {
            var v = state.*;
            var w: [16]V = block.*;
            rounds(&v, &w, 64);
            inline for (0..8) |i| state[i] +%= v[i];
        }

        /// Only as many rounds as are needed to know the last state word, then that word of the finished
        /// hash: the final h is the e of round 60, so rounds 61..63 are skipped. Used for early rejection.
        pub inline fn compressLastWord(state: *const State, block: *const Block) V {
            var v = state.*;
            var w: [16]V = block.*;
            rounds(&v, &w, 61);
            return state[7] +% v[4];
        }

        /// Rounds 0..n-1 on working variables v (a..h), message schedule expanded in place.
        inline fn rounds(v: *State, w: *[16]V, comptime n: usize) void {
            @setEvalBranchQuota(100000);
            var a = v[0];
            var b = v[1];
            var c = v[2];
            var d = v[3];
            var e = v[4];
            var f = v[5];
            var g = v[6];
            var h = v[7];
            inline for (0..n) |i| {
                if (i >= 16) {
                    const w15 = w[(i - 15) & 15];
                    const w2 = w[(i - 2) & 15];
                    const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> @splat(3));
                    const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> @splat(10));
                    w[i & 15] = w[i & 15] +% s0 +% w[(i - 7) & 15] +% s1;
                }
                const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
                const ch = (e & f) ^ (~e & g);
                const t1 = h +% S1 +% ch +% splat(k[i]) +% w[i & 15];
                const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
                const maj = (a & b) ^ (a & c) ^ (b & c);
                const t2 = S0 +% maj;
                h = g;
                g = f;
                f = e;
                e = d +% t1;
                d = c;
                c = b;
                b = a;
                a = t1 +% t2;
            }
            v.* = .{ a, b, c, d, e, f, g, h };
        }
    };
}

/// Reads big-endian u32 words from bytes (SHA-256's byte order).
pub fn wordsBE(comptime n: usize, bytes: []const u8) [n]u32 {
    var out: [n]u32 = undefined;
    inline for (0..n) |i| out[i] = std.mem.readInt(u32, bytes[i * 4 ..][0..4], .big);
    return out;
}

/// Scalar SHA-256 of 80 bytes, twice (Bitcoin's sha256d), digest bytes in SHA order.
pub fn sha256d80(in: *const [80]u8) [32]u8 {
    const S = Lanes(1);
    var st = S.initState();
    var blk: S.Block = undefined;
    const w = wordsBE(20, in);
    inline for (0..16) |i| blk[i] = S.splat(w[i]);
    S.compress(&st, &blk);
    inline for (0..4) |i| blk[i] = S.splat(w[16 + i]);
    blk[4] = S.splat(0x80000000);
    inline for (5..15) |i| blk[i] = S.splat(0);
    blk[15] = S.splat(640);
    S.compress(&st, &blk);
    var blk2: S.Block = undefined;
    inline for (0..8) |i| blk2[i] = st[i];
    blk2[8] = S.splat(0x80000000);
    inline for (9..15) |i| blk2[i] = S.splat(0);
    blk2[15] = S.splat(256);
    var st2 = S.initState();
    S.compress(&st2, &blk2);
    var out: [32]u8 = undefined;
    inline for (0..8) |i| std.mem.writeInt(u32, out[i * 4 ..][0..4], st2[i][0], .big);
    return out;
}

test "sha256d80 matches std" {
    var in: [80]u8 = undefined;
    for (&in, 0..) |*b, i| b.* = @truncate(i *% 37 +% 11);
    var first: [32]u8 = undefined;
    std.crypto.hash.sha2.Sha256.hash(&in, &first, .{});
    var want: [32]u8 = undefined;
    std.crypto.hash.sha2.Sha256.hash(&first, &want, .{});
    try std.testing.expectEqual(want, sha256d80(&in));
}
