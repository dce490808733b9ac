//! Zig-only benchmark: one thread calling rn_scan in a loop, no FFI and no engine. It is the baseline that the
//! engine's overhead is measured against (bench/overhead.ts). usage: rnbench sha256d|scrypt SECONDS [BATCH [simd|shani]]
const std = @import("std");
const api = @import("c_api.zig");

pub fn main() !void {
    var args = std.process.args();
    _ = args.next();
    const algo_s = args.next() orelse "sha256d";
    const seconds = try std.fmt.parseFloat(f64, args.next() orelse "5");
    const algo: u32 = if (std.mem.eql(u8, algo_s, "scrypt")) 1 else 0;
    const default_batch: u32 = if (algo == 1) 1024 else 1 << 20;
    const batch = if (args.next()) |b| try std.fmt.parseInt(u32, b, 10) else default_batch;
    const impl: u32 = if (args.next()) |i| (if (std.mem.eql(u8, i, "shani")) 1 else 0) else 0;

    const alloc = std.heap.page_allocator;
    const need: usize = @intCast(api.rn_scratch_size(algo));
    const scratch = try alloc.alloc(u8, @max(need, 1));
    defer alloc.free(scratch);
    var header: [80]u8 = undefined;
    std.crypto.random.bytes(&header);
    const target = [_]u8{0} ** 32;
    var out: [64]u32 = undefined;

    var timer = try std.time.Timer.start();
    const limit_ns: u64 = @intFromFloat(seconds * 1e9);
    var hashes: u64 = 0;
    var nonce: u32 = 0;
    while (timer.read() < limit_ns) {
        if (@as(u64, nonce) + batch > 0xffffffff) {
            nonce = 0;
            header[0] +%= 1;
        }
        if (api.rn_scan(algo, impl, &header, nonce, batch, &target, &out, out.len, scratch.ptr, scratch.len) < 0) return error.Unsupported;
        nonce += batch;
        hashes += batch;
    }
    const elapsed = @as(f64, @floatFromInt(timer.read())) / 1e9;
    const stdout = std.io.getStdOut().writer();
    try stdout.print("{{\"algo\":\"{s}\",\"variant\":{d},\"impl\":{d},\"lanes\":{d},\"batch\":{d},\"hashes\":{d},\"seconds\":{d:.3},\"hashrate_hs\":{d:.1}}}\n", .{ algo_s, api.variant, impl, api.lanes, batch, hashes, elapsed, @as(f64, @floatFromInt(hashes)) / elapsed });
}
