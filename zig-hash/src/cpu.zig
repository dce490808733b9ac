//! CPU features by CPUID and XGETBV: what the processor and the OS together allow, never /proc/cpuinfo.
const std = @import("std");
const builtin = @import("builtin");

pub const feature_v2: u32 = 1 << 1;
pub const feature_v3: u32 = 1 << 2;
pub const feature_v4: u32 = 1 << 3;
pub const feature_sha: u32 = 1 << 4;

fn cpuid(leaf: u32, sub: u32) [4]u32 {
    var a: u32 = undefined;
    var b: u32 = undefined;
    var c: u32 = undefined;
    var d: u32 = undefined;
    asm volatile ("cpuid"
        : [a] "={eax}" (a),
          [b] "={ebx}" (b),
          [c] "={ecx}" (c),
          [d] "={edx}" (d),
        : [leaf] "{eax}" (leaf),
          [sub] "{ecx}" (sub),
    );
    return .{ a, b, c, d };
}

fn xcr0() u64 {
    var lo: u32 = undefined;
    var hi: u32 = undefined;
    asm volatile ("xgetbv"
        : [lo] "={eax}" (lo),
          [hi] "={edx}" (hi),
        : [idx] "{ecx}" (@as(u32, 0)),
    );
    return (@as(u64, hi) << 32) | lo;
}

inline fn has(reg: u32, bit: u5) bool {
    return (reg >> bit) & 1 == 1;
}

/// Bit 0 always (x86-64 baseline); then x86-64-v2, -v3, -v4 levels and SHA-NI, as bits 1..4.
pub fn detect() u32 {
    if (builtin.cpu.arch != .x86_64) return 0;
    var mask: u32 = 1;
    const max_leaf = cpuid(0, 0)[0];
    const l1 = cpuid(1, 0);
    const l7 = if (max_leaf >= 7) cpuid(7, 0) else [4]u32{ 0, 0, 0, 0 };
    const ext_max = cpuid(0x80000000, 0)[0];
    const e1 = if (ext_max >= 0x80000001) cpuid(0x80000001, 0) else [4]u32{ 0, 0, 0, 0 };
    const ecx1 = l1[2];
    const ebx7 = l7[1];

    const v2 = has(ecx1, 0) and has(ecx1, 9) and has(ecx1, 13) and has(ecx1, 19) and has(ecx1, 20) and has(ecx1, 23) and has(e1[2], 0);
    if (!v2) return mask;
    mask |= feature_v2;
    if (has(ebx7, 29)) mask |= feature_sha;

    const osxsave = has(ecx1, 27);
    const xcr = if (osxsave) xcr0() else 0;
    const os_avx = (xcr & 0x6) == 0x6;
    const os_avx512 = os_avx and (xcr & 0xE0) == 0xE0;
    const v3 = os_avx and has(ecx1, 28) and has(ecx1, 12) and has(ecx1, 22) and has(ecx1, 29) and
        has(ebx7, 3) and has(ebx7, 5) and has(ebx7, 8) and has(e1[2], 5);
    if (!v3) return mask;
    mask |= feature_v3;
    const v4 = os_avx512 and has(ebx7, 16) and has(ebx7, 17) and has(ebx7, 28) and has(ebx7, 30) and has(ebx7, 31);
    if (v4) mask |= feature_v4;
    return mask;
}

test "detect reports at least the baseline and what this build was compiled for" {
    const m = detect();
    try std.testing.expect(m & 1 == 1);
    if (std.Target.x86.featureSetHas(builtin.cpu.features, .avx512f)) try std.testing.expect(m & feature_v4 != 0);
    if (std.Target.x86.featureSetHas(builtin.cpu.features, .avx2)) try std.testing.expect(m & feature_v3 != 0);
}
