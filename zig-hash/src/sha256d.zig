//! sha256d nonce scan: midstate of the first 64 bytes, L nonces per step, early rejection on the top word.
const std = @import("std");
const sha = @import("sha256.zig");
const target_mod = @import("target.zig");

/// Scans nonces [start, start+count) of `header` (bytes 76..79 replaced by each nonce, little-endian),
/// writes up to `out.len` hits ascending, and returns how many hits there were in total.
pub fn scan(comptime L: usize, header: *const [80]u8, start: u32, count: u32, target: *const [32]u8, out: []u32) u32 {
    const S = sha.Lanes(L);
    const V = S.V;

    // Midstate: the first 64 bytes never change within a scan.
    const w = sha.wordsBE(19, header[0..76]);
    var mid1: sha.Lanes(1).State = sha.Lanes(1).initState();
    var b1: sha.Lanes(1).Block = undefined;
    inline for (0..16) |i| b1[i] = @splat(w[i]);
    sha.Lanes(1).compress(&mid1, &b1);
    var mid: S.State = undefined;
    inline for (0..8) |i| mid[i] = S.splat(mid1[i][0]);

    var blk: S.Block = undefined;
    blk[0] = S.splat(w[16]);
    blk[1] = S.splat(w[17]);
    blk[2] = S.splat(w[18]);
    blk[4] = S.splat(0x80000000);
    inline for (5..15) |i| blk[i] = S.splat(0);
    blk[15] = S.splat(640);

    var blk2: S.Block = undefined;
    blk2[8] = S.splat(0x80000000);
    inline for (9..15) |i| blk2[i] = S.splat(0);
    blk2[15] = S.splat(256);

    const iv = S.initState();
    const iota: V = std.simd.iota(u32, L);
    const limit = S.splat(target_mod.top32(target));
    const end: u64 = @as(u64, start) + count;
    var hits: u32 = 0;
    var base: u64 = start;
    while (base < end) : (base += L) {
        const nonces = S.splat(@truncate(base)) +% iota;
        blk[3] = @byteSwap(nonces);
        var st = mid;
        S.compress(&st, &blk);
        inline for (0..8) |i| blk2[i] = st[i];
        // The top 32 bits of the hash as a number are the last digest word, byte-swapped.
        const top = @byteSwap(S.compressLastWord(&iv, &blk2));
        const maybe = top <= limit;
        if (@reduce(.Or, maybe)) {
            const remaining = end - base;
            inline for (0..L) |l| {
                if (maybe[l] and l < remaining) {
                    // Rare: finish this nonce's hash in full and compare all 256 bits.
                    var hdr = header.*;
                    std.mem.writeInt(u32, hdr[76..80], nonces[l], .little);
                    const digest = sha.sha256d80(&hdr);
                    if (target_mod.meets(&digest, target)) {
                        if (hits < out.len) out[hits] = nonces[l];
                        hits += 1;
                    }
                }
            }
        }
    }
    return hits;
}
