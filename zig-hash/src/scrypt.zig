//! scrypt(N=1024, r=1, p=1, dkLen=32) with the 80-byte header as password and salt, L headers at once.
//! PBKDF2-HMAC-SHA256 runs on SHA-256 lanes; salsa20/8 runs with one lane per header.
const std = @import("std");
const sha = @import("sha256.zig");
const target_mod = @import("target.zig");

pub const N = 1024;

/// Bytes of scratchpad one call for L lanes needs (the caller owns and reuses it).
pub fn scratchBytes(comptime L: usize) usize {
    return N * 32 * 4 * L;
}

fn Salsa(comptime L: usize) type {
    return struct {
        const V = @Vector(L, u32);
        inline fn rotl(x: V, comptime n: u5) V {
            return (x << @splat(n)) | (x >> @splat(@as(u5, @intCast(32 - @as(u6, n)))));
        }
        inline fn qr(x: *[16]V, comptime a: usize, comptime b: usize, comptime c: usize, comptime d: usize) void {
            x[b] ^= rotl(x[a] +% x[d], 7);
            x[c] ^= rotl(x[b] +% x[a], 9);
            x[d] ^= rotl(x[c] +% x[b], 13);
            x[a] ^= rotl(x[d] +% x[c], 18);
        }
        /// salsa20/8 core applied in place to B.
        inline fn core(b: *[16]V) void {
            var x = b.*;
            inline for (0..4) |_| {
                qr(&x, 0, 4, 8, 12);
                qr(&x, 5, 9, 13, 1);
                qr(&x, 10, 14, 2, 6);
                qr(&x, 15, 3, 7, 11);
                qr(&x, 0, 1, 2, 3);
                qr(&x, 5, 6, 7, 4);
                qr(&x, 10, 11, 8, 9);
                qr(&x, 15, 12, 13, 14);
            }
            inline for (0..16) |i| b[i] +%= x[i];
        }
        /// BlockMix with r = 1 on X = B0 || B1.
        inline fn blockMix(x: *[32]V) void {
            inline for (0..16) |i| x[i] ^= x[16 + i];
            core(x[0..16]);
            inline for (0..16) |i| x[16 + i] ^= x[i];
            core(x[16..32]);
        }
    };
}

/// Transposes an L x L matrix of u32 held as L vectors, in log2(L) stages of block swaps.
inline fn transpose(comptime L: usize, r: *[L]@Vector(L, u32)) void {
    comptime var h: usize = L / 2;
    inline while (h >= 1) : (h /= 2) {
        const masks = comptime blk: {
            var ma: [L]i32 = undefined;
            var mb: [L]i32 = undefined;
            for (0..L) |k| {
                if (k & h == 0) {
                    ma[k] = @intCast(k);
                    mb[k] = @intCast(k + h);
                } else {
                    ma[k] = ~@as(i32, @intCast(k - h));
                    mb[k] = ~@as(i32, @intCast(k));
                }
            }
            break :blk .{ ma, mb };
        };
        inline for (0..L) |i| {
            if (i & h == 0) {
                const a = r[i];
                const b = r[i + h];
                r[i] = @shuffle(u32, a, b, @as(@Vector(L, i32), masks[0]));
                r[i + h] = @shuffle(u32, a, b, @as(@Vector(L, i32), masks[1]));
            }
        }
    }
}

test "transpose" {
    inline for (.{ 1, 4, 8, 16 }) |L| {
        var r: [L]@Vector(L, u32) = undefined;
        for (0..L) |i| {
            var row: [L]u32 = undefined;
            for (0..L) |k| row[k] = @intCast(i * 100 + k);
            r[i] = row;
        }
        transpose(L, &r);
        for (0..L) |i| for (0..L) |k| try std.testing.expectEqual(@as(u32, @intCast(k * 100 + i)), r[i][k]);
    }
}

/// scrypt hashes of L headers: `words[l]` is header l as 20 big-endian words; digests written in SHA byte order.
pub fn hashLanes(comptime L: usize, pw: *const [20]@Vector(L, u32), scratch: [*]@Vector(L, u32), out: *[8]@Vector(L, u32)) void {
    @setEvalBranchQuota(100000);
    const S = sha.Lanes(L);
    const V = S.V;
    const splat = S.splat;

    // HMAC key: the 80-byte password is longer than a block, so the key is its SHA-256.
    var key = S.initState();
    var blk: S.Block = undefined;
    inline for (0..16) |i| blk[i] = pw[i];
    S.compress(&key, &blk);
    inline for (0..4) |i| blk[i] = pw[16 + i];
    blk[4] = splat(0x80000000);
    inline for (5..15) |i| blk[i] = splat(0);
    blk[15] = splat(80 * 8);
    S.compress(&key, &blk);

    var istate = S.initState();
    var ostate = S.initState();
    inline for (0..8) |i| blk[i] = key[i] ^ splat(0x36363636);
    inline for (8..16) |i| blk[i] = splat(0x36363636);
    S.compress(&istate, &blk);
    inline for (0..8) |i| blk[i] = key[i] ^ splat(0x5c5c5c5c);
    inline for (8..16) |i| blk[i] = splat(0x5c5c5c5c);
    S.compress(&ostate, &blk);

    // PBKDF2 #1: salt = password, 4 output blocks of 32 bytes = B (128 bytes).
    var salted = istate;
    inline for (0..16) |i| blk[i] = pw[i];
    S.compress(&salted, &blk);
    var x: [32]V = undefined;
    inline for (1..5) |idx| {
        var inner = salted;
        inline for (0..4) |i| blk[i] = pw[16 + i];
        blk[4] = splat(idx);
        blk[5] = splat(0x80000000);
        inline for (6..15) |i| blk[i] = splat(0);
        blk[15] = splat((64 + 84) * 8);
        S.compress(&inner, &blk);
        const outer = hmacOuter(L, ostate, inner);
        // scrypt reads B as little-endian words.
        inline for (0..8) |i| x[(idx - 1) * 8 + i] = @byteSwap(outer[i]);
    }

    // ROMix. The scratchpad keeps each lane's 128-byte blocks contiguous ([lane][i][32 words]), so the random
    // reads of the second loop touch two cache lines per lane; X is transposed in blocks of L words to get there.
    const M = Salsa(L);
    const blocks = 32 / L;
    const lane_stride = N * blocks; // vectors per lane
    for (0..N) |i| {
        inline for (0..blocks) |b| {
            var t: [L]V = x[b * L ..][0..L].*;
            transpose(L, &t);
            inline for (0..L) |l| scratch[l * lane_stride + i * blocks + b] = t[l];
        }
        M.blockMix(&x);
    }
    for (0..N) |_| {
        const j: [L]u32 = x[16] & splat(N - 1);
        inline for (0..blocks) |b| {
            var t: [L]V = undefined;
            inline for (0..L) |l| t[l] = scratch[l * lane_stride + j[l] * blocks + b];
            transpose(L, &t);
            inline for (0..L) |w| x[b * L + w] ^= t[w];
        }
        M.blockMix(&x);
    }

    // PBKDF2 #2: salt = B', one output block.
    var inner = istate;
    inline for (0..16) |i| blk[i] = @byteSwap(x[i]);
    S.compress(&inner, &blk);
    inline for (0..16) |i| blk[i] = @byteSwap(x[16 + i]);
    S.compress(&inner, &blk);
    blk[0] = splat(1);
    blk[1] = splat(0x80000000);
    inline for (2..15) |i| blk[i] = splat(0);
    blk[15] = splat((64 + 128 + 4) * 8);
    S.compress(&inner, &blk);
    out.* = hmacOuter(L, ostate, inner);
}

/// HMAC's outer hash: the 32-byte inner digest as one padded block after the opad state.
inline fn hmacOuter(comptime L: usize, ostate: sha.Lanes(L).State, inner: sha.Lanes(L).State) sha.Lanes(L).State {
    const S = sha.Lanes(L);
    var blk: S.Block = undefined;
    inline for (0..8) |i| blk[i] = inner[i];
    blk[8] = S.splat(0x80000000);
    inline for (9..15) |i| blk[i] = S.splat(0);
    blk[15] = S.splat((64 + 32) * 8);
    var outer = ostate;
    S.compress(&outer, &blk);
    return outer;
}

/// Scans nonces [start, start+count) like sha256d.scan, L nonces per step.
pub fn scan(comptime L: usize, header: *const [80]u8, start: u32, count: u32, target: *const [32]u8, out: []u32, scratch: [*]@Vector(L, u32)) u32 {
    const V = @Vector(L, u32);
    const w = sha.wordsBE(19, header[0..76]);
    var pw: [20]V = undefined;
    inline for (0..19) |i| pw[i] = @splat(w[i]);
    const iota: V = std.simd.iota(u32, L);
    const end: u64 = @as(u64, start) + count;
    var hits: u32 = 0;
    var base: u64 = start;
    while (base < end) : (base += L) {
        const nonces: V = @as(V, @splat(@as(u32, @truncate(base)))) +% iota;
        pw[19] = @byteSwap(nonces);
        var digest: [8]V = undefined;
        hashLanes(L, &pw, scratch, &digest);
        const remaining = end - base;
        inline for (0..L) |l| {
            if (l < remaining) {
                var bytes: [32]u8 = undefined;
                inline for (0..8) |i| std.mem.writeInt(u32, bytes[i * 4 ..][0..4], digest[i][l], .big);
                if (target_mod.meets(&bytes, target)) {
                    if (hits < out.len) out[hits] = nonces[l];
                    hits += 1;
                }
            }
        }
    }
    return hits;
}

/// scrypt of one 80-byte header (lane 0 of a 1-lane call), digest bytes in SHA order.
pub fn hash1(header: *const [80]u8, scratch: [*]@Vector(1, u32)) [32]u8 {
    const w = sha.wordsBE(20, header);
    var pw: [20]@Vector(1, u32) = undefined;
    inline for (0..20) |i| pw[i] = @splat(w[i]);
    var d: [8]@Vector(1, u32) = undefined;
    hashLanes(1, &pw, scratch, &d);
    var out: [32]u8 = undefined;
    inline for (0..8) |i| std.mem.writeInt(u32, out[i * 4 ..][0..4], d[i][0], .big);
    return out;
}

test "scrypt hash1 matches std.crypto.pwhash.scrypt" {
    var in: [80]u8 = undefined;
    for (&in, 0..) |*b, i| b.* = @truncate(i *% 91 +% 5);
    var want: [32]u8 = undefined;
    try std.crypto.pwhash.scrypt.kdf(std.testing.allocator, &want, &in, &in, .{ .ln = 10, .r = 1, .p = 1 });
    const scratch = try std.testing.allocator.alloc(@Vector(1, u32), N * 32);
    defer std.testing.allocator.free(scratch);
    try std.testing.expectEqual(want, hash1(&in, scratch.ptr));
}
