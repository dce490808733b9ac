//! Hashes and targets are 256-bit little-endian numbers (byte 31 most significant), as in Bitcoin.
const std = @import("std");

/// True when `hash`, read as a little-endian 256-bit number, is <= `target`.
pub fn meets(hash: *const [32]u8, target: *const [32]u8) bool {
    var i: usize = 32;
    while (i > 0) {
        i -= 1;
        if (hash[i] != target[i]) return hash[i] < target[i];
    }
    return true;
}

/// The most significant 32 bits of a little-endian 256-bit number.
pub fn top32(x: *const [32]u8) u32 {
    return std.mem.readInt(u32, x[28..32], .little);
}

test "meets compares as little-endian integers" {
    var h = [_]u8{0} ** 32;
    var t = [_]u8{0} ** 32;
    t[31] = 1;
    h[0] = 0xff;
    try std.testing.expect(meets(&h, &t));
    h[31] = 1;
    try std.testing.expect(!meets(&h, &t));
    h[0] = 0;
    try std.testing.expect(meets(&h, &t)); // equal counts
}
