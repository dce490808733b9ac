//! The proof-of-work vectors of test/fixtures/pow-vectors.json (computed with OpenSSL), checked on this build.
//! Generated from that file once; hashes and targets in display (big-endian) hex.
const std = @import("std");
const api = @import("c_api.zig");

const HashVec = struct { header: []const u8, sha256d: []const u8, scrypt: []const u8 };
const hash_vectors = [_]HashVec{
    .{ .header = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c", .sha256d = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", .scrypt = "5658d6a004e6b85edb79182966e6eec14134604075d4118b645d9c1865360559" },
    .{ .header = "0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695", .sha256d = "00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d", .scrypt = "e9f0ff789ea4a6dd64aedaf4d64bebbe4da568cc21d3f3251bc015a12431d1a6" },
    .{ .header = "010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a17c3edf6cfd97bee6bafbdd97b9aa8e4ef0ff0f1ecd513f7c", .sha256d = "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2", .scrypt = "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00" },
    .{ .header = "f991813ca062ab9d090fa063cd042b6f7fb77e3aa15c4c668742f0b1b4ce8478e8485623dde364c184f05e9ab1f66f9939c5a28d479538f37fda36c49b6743ab0f1973c158752f2e8d4cc2acea64432f", .sha256d = "1ed97d9dc6a4601bb0b255e476de7a766bcf505aff2cdb5db2ba159104e99067", .scrypt = "deaff166a11995612746a449bc7513af2ca8f292dd1739db04a0e95facd318d0" },
    .{ .header = "899120ba6cfb93fe37731592da56526822b3759890da5cb6cbdb5e6aea0466366fae2923476b1848c4a31f612ef67de94835d9df77b33cf02bbf67272efe23907ad6a952141da89e6df747133949161e", .sha256d = "d25413f064844120170e425522815a701f16277fad973bb72a985bafa10de013", .scrypt = "5b3d0582f535a6fd6aee0e84ff6a7e4c8e08deebd83988f9e765eba8bf67f98d" },
    .{ .header = "633e37c5967637f0b2f759a79cf8c32aa496aedce1ed68edb5a50e3a7bd850e8f9a811d69e6ca66db64604783e54fa3e740435898b6a3cd3d067fb90979a096291859023ec99d1eea80706b24c0dfbf8", .sha256d = "0a2c637cdc8fb507c66eb69deae075e954e191cb2be1b4590e77bbe7fd4c5ac9", .scrypt = "8bbcdf5228a229143d68775d1eed0a5cdb32ddebc19eb52518fd00729a11d20c" },
    .{ .header = "0df36a180f33c7d84b0152e145787bec3501c1f13184749259dea201c17662638b0ec85ec2754abbeef37af4290b7add3a798f8ff3c7d43bf6e6f0e4639b00e97c56e1341b0abf36b3a21948acf351aa", .sha256d = "05c1e1b362a791fbb6db65195c0693f766c0b2cf3d5f19996a3ec5465d8d86f2", .scrypt = "954f4af9cd5818d3053261874a09a887639f882c07aaf8904cd632a5d6cfc34b" },
    .{ .header = "ca51cbf273494da9b7509f66529d8144b57c1c5f1e02566db639b03bd888138f9317972683ed6bd2378baa3972c1bf82a44105a9b71df9e277a50ab6f1e7d2041d1f1c3f590f313451e3977a43728af4", .sha256d = "815c1d66b331abbb2b321a0a7d1b3238492bc14012399527248f8557a2a72e7a", .scrypt = "be86ebb279456618d6c310ffce2b620fbe506d8539b4e0ab2ef82f0c1137a361" },
    .{ .header = "244a2deaa3ba3305c467c9dd13c658fbca74f50681e5e9b63b026bda21228be3a9ab85828c8a61b8e8e7cb914d6446b1a404f87f0b2d3e1f74d77050e7954684f62f98357c75a33d0d8d550044598a4d", .sha256d = "42a1e7ece545791e8c4e818590e44b1e2da138beff0f47ecbefcc0f641a960f0", .scrypt = "87dd243e29e558901945e2abe6f355a19be4a77be24f1910d940c6c212badc9b" },
    .{ .header = "49242ae42236b324bde43bdc6f76fdfa41814a70e58a844700f03180c55ae7679bfaaf2cf8e71547a723f7fa9f127e4b7cc0e66dbc88d7f26a3ae311b31522e8ee9071ff2d77bf5aa96df710eb29f259", .sha256d = "34077f1d5b6189aac15d6d0ffc22213ed0e5cd0edbd0b95e1d8b6a5888d0a802", .scrypt = "4be7087164003cf17c445e070db85c80fe4f21d206270823a55a66db32f805f4" },
    .{ .header = "33b05929f3d76481e07a5d106d4ef2ede88a4538b9b0418c3b18f5e603e31b769306027b1ac75bce17abd608b177e8e4d8a1568627867d7d073ee2f3c079c58c72eccf09adcd701cf7ea1d785e65893f", .sha256d = "f2ba94c38fe9ce7f4aa68293eaf689f7ef88607d9dec8bdcc8554e621f73bc5b", .scrypt = "29f606f68318faec3fbd60d550bde123110f17fa95078268c5c49e6504870af7" },
    .{ .header = "8bab164d0b01e34954ff32f465c25c9dbfdcd710b32779f21f2e021505d24d72c930f1f409cec385f9b9c39d3be1d6252c9b211c1134c62abe652ecf41467bd8370cd81170a3d8c7d3c0bbba308b04fd", .sha256d = "425e86d0a5eb129b12aa219b98c8a9bf2c751c045ba91f1f93e81407e9c5db48", .scrypt = "880277da34ca2b130fbd74b4f8eeda254af1d2afcc8963366f3abf2b58a91c67" },
    .{ .header = "50fa8f3482e5862d966ee2dd24bbdff2457721bad889da9a8f11c312ce4b90c864c6ee4b9924400e14050aee585ecf501bfa0e8c7e4a41c4db2970de78dd21a2e904164ea2ced52e8a8c987cefae545b", .sha256d = "5a71d342cc9f70d5f3b1bca53803378586911d9f934bafccff848e6132ed0818", .scrypt = "01890fecf918ede462fc8f1075c6dcf276f235bd31e952ca9e169dab30f01b58" },
    .{ .header = "bd4bdb437b9105abc269b3d2b7d41ff820d103feccb55cdce442a4dd28823e48803d97dbc8175cd5755fa0ce3c2ff67032a0452b754dab219339607255fa78baf6dbe5f5c75efd1107c575710b1c51bc", .sha256d = "bd3ba81d4a9bbedb435dc695d3191f31adde56f9d5d34372b4d42850e0ecaa95", .scrypt = "45ebe9c35bb5abc08f79e13651d88bcbac748d9955a8547643a17a7c3a019c46" },
    .{ .header = "d37650fa9d2b215caf64f5d44f6497c522ca45382829e1663e005687a3c7a6aa35078023f51a90bd86222779b91458f2d39a110ba8123f4fe60116b1ec04569a3edc24170b75f8f251671d9d9fde9234", .sha256d = "37e0d77ad86dae2c20c03f5c756a19ce4dd93505c7765f6a432932a40d965af3", .scrypt = "cf7d7bc1014cf6d1c920ca53e6c8ba696e965b1d9737a7fc2d5b9b59f1d9ca61" },
    .{ .header = "ab7c08524432890e261de54fc8b5c599ad49b3abb5789be255ff045ea77979b82ebfa85e87f283e7ac33982bb34aad870df69baf87a39f14d8d6e9401dcb3175a889a17f4ac8bc98184d2337edea2cd4", .sha256d = "e5b9c53603dc7eeae0ad5e8f6ec786385c8102243304b77c3c7d21da62915739", .scrypt = "3fc1624be7507dd62e7cdc030c38872a8ca1a05df416b8b8e334b51310d737bd" },
    .{ .header = "b1283cb9c624ec3889846f26df1551d937b52b8028bc82f8516c4bc48ee90f14bc5aefe65ce57a2f66fd942388c3534931d1abc22c7686dc33254663f68b5882e68eefdd35c92574d7aee2737219a5b3", .sha256d = "8acf6edf4af2685c6ee76b8733ef3ee63ce39174b18640ff547052d88c5e5b0b", .scrypt = "3ddedb9689178e60116189fcc72167acd1fa782a564653cd7f2693fde63ae2c3" },
    .{ .header = "d0401282f5a2714f7f4d38c01adb173d3d1ec9df63e40e215c9ec82540019638e5ee17b5ac3c49a34ae58ce96fa357a69ae62d1df5dabbe63fd2f04a020bd2bccc5af9da3e941dbc8d4bd8a0ad11ca8b", .sha256d = "7cdc60372c8ff464724d9a70ce7d55c3f911cd1264a69b8385a5df4b3e3a418f", .scrypt = "103733602e156abbc60c709eee3c75f6735b211c6cf5acf62c7d8336c3d6afee" },
    .{ .header = "4d5439bceda8fd862f28ae149e5960866878beb0f5a8427484a7f63f37ce73d8e83bfcc8b8eb866c92b74cc354b85b7bf2e46333fc61e7ca7f5ae67cf4f11d4674f75219d7b29682c553c55954c91e58", .sha256d = "3fc277b8558dfa7204a0f34c08fc7c837f8e6d3fe9fc8872db3dac211b49d99a", .scrypt = "d3a886ef62598412ab8cdd1410374663b0f60b75e6f34207106746820397f67f" },
    .{ .header = "d43d4416d904991a1c3c192ebdd77e800c2cb5251823a07f1964d7c7825f47e87fc0aef58874b69a61591f89ca387bd54064c2a762d03ad1050ccb9f7136c6c9b03595e463169bf7d17fd9ba4b68aabf", .sha256d = "e88f94d8729121c5d2982e2b7dba24aa10cbf8e887ed392e408adf75ea1871e0", .scrypt = "fd70cf2f4a19459cb49dc179b229f5db9add63cb11ce2c29039addda257b37e8" },
    .{ .header = "021462abfa1898cdce38f039d9d7c421852294242a9c41856bb9f59528ccd3268eb6d80761276c15cafe4a148880e2b1d1c260c779318318aaaf0b10c2ba6f71afb13affb5051a27159cf39ce9765091", .sha256d = "88f29d006991f83776e4bf461b60d7dc2bd60399c7254158da6add6c3d421096", .scrypt = "63c8b32d02d436ea4b6e235c842af8b70830718b0de89fa27e1e4ae2851d22a8" },
    .{ .header = "ec193550e4933b5a479a8c66e42dc33a65f06ec23fbf0eb0bc1ce54d91faf87106a5c1cb7a03932b60b55a053d4c85203b6046b5839b7a2d3633260782999e9f113ba08f7882e762b2e7b262890ae13a", .sha256d = "95ebe3eb4d0fcc9c84fcc0d02969781ee77314c4715b4c08d71134ac2569d676", .scrypt = "9593e421c77554ba57bf20bcb071fc9826094d3fcce45d803c8351ccb1bd0661" },
    .{ .header = "85f9ec0d299edfda1715919fdb3b1775619c48ee14231abb2c40c3abb950fe9993b5e216a0ad7b990d2888d980c4623864b7b246c118dc8d06e254ec3e5ba22b0a0ba00884ed2f4bf7b353b2d0296118", .sha256d = "4e1c3c7b56a5ff1f730bc154daaeaa08647b577fab9213a573249d8dc1f7694c", .scrypt = "db38116f8b826907043258e1a000bdc374fecdc26ce75e9d5e14af5fd43c1ecc" },
    .{ .header = "4a53d6527d46fcc4dcde14d6515a57405ce923f7599545579fca73b061d2dafd886779f1f3b83feb51447387a69b1e41fea809dd92c57daa8ac35f326e81f040d5168a636d07d639865401a2f738fc4c", .sha256d = "7715f3aa60af85f2edc209f5c8998dadb7f691dd671f5452ccf27e77d84b578c", .scrypt = "4d4933e183dded1e50cd7fc1964db294b6a6c442b40b1cc7724c60bc64743233" },
    .{ .header = "56657fc90e5efc7326f90485a9464cd616a79b6b6ac303d3ac2f08f00b3a9b84f739174aa57c345d3731a2ab32dd8a65fea259906abb5c80957c9ca6a62a05a6206bac76f0eca8044e31b4c6fc2886b8", .sha256d = "f4c6f8a1e600945c0d5fdbe92255359003ae90afaaebeca3544aa9672178d199", .scrypt = "b0ae37880c4f0ed382a8d4e6ae439ef327164bf08dca44781bba4a63aebe1ae0" },
    .{ .header = "67cb2defd46c634053053494fa5bbeaf4c5b345e1a5a186723958923e08914e7f1920db5b06c2df35db1ea5cbbd8532ae1ebb9f96bedc9797e73547a382c80d2299c5aab732073dddc5054b1aa3b00bc", .sha256d = "0400e763b45c70ce01f5a162b878952be10dfab17ff694f38eb98d58744880f6", .scrypt = "f68ff84700e707c119a761ae9d0832f93a482e2038f72b9c3ae22f2475c41e11" },
    .{ .header = "c54e575043a9012ab3bfa51e87758d48c1731074f737cf5e04449035da04d8c1afab72e1d1d24b6a65e9b4e7ebac6df1c299728a2aa7196a82ca9d5f0ab411071d2636983a30220393446f2fa17e6868", .sha256d = "4f105233e35c558bda4efd60cd55506f8ec31dd985dd3056c23f38b6cf6cc79c", .scrypt = "8710546ad7edccc6a7de2adc571b8a3cacc378ff9a78a7c13216c089bd0ec7cf" },
    .{ .header = "a0daa111ced7411d80fbf6a5e9bc8193bec9043831a21e7ffe8a853068f5d5abd3a922d8da656ea3cf9a34d9ba53aa90bfb366302145f3d24853c84327ab2481aed9704566fd6fdca9a4d88b3e8538ed", .sha256d = "9d11485db516a85d3b7c5e7ba41fa922e679d625a3529ed8e12cc6c93b1f3d21", .scrypt = "c7c69fc76cabd6b21b6aa5a78850e0630192cab343fbae2854d95866b1759a1d" },
    .{ .header = "263b615a50d16b6daea25e7cea95bc4f367e5e03511876f068fa8ef9b79e6f9d367a2a9e5a3daae5300f2c86497d64822db0a281c137eec447efcebf7e4b8aa2593b22b3f5e08970d427488d1e7711d4", .sha256d = "f4c6a7054e9a1d4c443fccce4f92c72cd4a9e4075a9ff017138f60abdace8bf1", .scrypt = "8d633e2570e94b4536c825075882110d003fc8694f5bbf2c9637caa4e69aaa72" },
    .{ .header = "3995ab1348708c0060e65dfbaf48b969f8114281ff83aaa902d3307cdbe76e6055145ad12b1d13c792a89658680c84a8df790bb3b409841d3797e37c6c618023feadd7db21b696e0b05b27adad15eff7", .sha256d = "862c36289a448b7ae86a1a09ad289d4d6b81217adb9481ec467452f44660d6ba", .scrypt = "2b1401b98cbcf6f32c00fe0ed720d765b1aaad56e5f55bd2e2c0dad6cfc3be68" },
    .{ .header = "3681175a1453cff7a9bcdda9ff9132c01568af359b1e91e08e31b7a4d852fe1b9256d8854df6418a73686a0164c6c91fb6d65ccd8ca33b501c7a4dc4b192844491d8fbe0feb73fef47e09b138f68f7c0", .sha256d = "bb82666c411f6d44534952e47b604c64d8079021c1c4e976a65ec6c018a547ee", .scrypt = "eb068333d90ca089d64bb47bbf42b850a993e84fd14c686a37e373347a58f712" },
    .{ .header = "30ffc093ad3582ef8c1fa323d92a5c1cc7cf17d27ced902bcc215b3ac3948b743e24c807b09977ad54d1ce6a6c3a402ab7b70f35a130ad344e342b79800e72d69d5cb06e85177c8ffe79fc1c35adbec5", .sha256d = "7d9071fcd58bbd4c835383eb896c4393e5486709948c1fcf2d015e7cc4bb2e40", .scrypt = "d4588b5c2882c72f54decb756510b0b02c4204073dab977965fa751557827245" },
    .{ .header = "eea30b352538eccfbe42b4e26ffa929a83a35db1c0fec60172dc05f4961b6689e04f64518c382b5ea5c7b3fcbbbb99ae4e443d9134445c46f18e7ad5db6b0405c8b5766d68dee3013f33c966d10877c8", .sha256d = "5d46982d37cb13187accfcb09da2b6c6ceddbd9bc058a2ec9b4d0a6b4b28ca9e", .scrypt = "a184ecd6593253f37e4ce926d4e4b3e9f6107e4e15c999db013389ee61b4e8d5" },
    .{ .header = "a75f2a91796489e929b3fc4e1a472d8cdd058cc627d3faa0405b9457512ec5f695fe257721f254ced782bace8aae48766731c982197224a93d615dfdbf7061940e9f51afbe15fc2b1e8225844117faff", .sha256d = "501367f7441718710cfd34693092115736415b7de843b21bf578253614c9fbee", .scrypt = "db416f318da99b9d73ba8554dde8225ca6af21fde880bd589ccb41ff100badce" },
    .{ .header = "db7c0c6fefef61818bedf18b526899b8e8c04b1ae713f1671b6a4a819f74710760a15e8c9b8931942e422c22b6f0f3f7e797a18eeea5e1d72c38ed1651a35fde810bd91b3244490a284308fcfa3b6b19", .sha256d = "c76fc1cb4b1398f3050edbc5159a6a11df5e2d73168698b69a9c104f4d3e0b40", .scrypt = "c398cd7bd3b56616f5200bdbb2ac6229ae924f14b1586380ec1626eece9228de" },
};
const ScanVec = struct { algo: api.Algo, prefix76: []const u8, start: u32, count: u32, target: []const u8, found: []const u32 };
const scan_vectors = [_]ScanVec{
    .{ .algo = .sha256d, .prefix76 = "7a7fc1a9c93da0f82cf27ae0d1e6c1faa0f05de904480ae5949e0f3fa31ae45ec981e0032ba56fe04022a3f7520c2e81cb6e06b75ba5ffb603dcda6dde851f7fa12497348622a5c02952810b", .start = 0, .count = 1048576, .target = "0000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", .found = &[_]u32{ 19940, 81207, 255163, 266262, 314838, 318662, 350752, 359435, 411036, 453105, 549151, 569461, 824370 } },
    .{ .algo = .sha256d, .prefix76 = "5dda57c72f60e6758271a4149869815b2d973acebfa6c9caef964442ee3c9c853970dea2f669f54339a2ffb05dc007bc4d27095ac0aa74f32f6c45ee5f520fd58035b15a9358298546f17123", .start = 4294705152, .count = 262144, .target = "000fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", .found = &[_]u32{ 4294709858, 4294713051, 4294714525, 4294718443, 4294721350, 4294727746, 4294729365, 4294736341, 4294739646, 4294744381, 4294744483, 4294744976, 4294745056, 4294746797, 4294747333, 4294752417, 4294756269, 4294757742, 4294764664, 4294767530, 4294770399, 4294772849, 4294775951, 4294776384, 4294782446, 4294790624, 4294792351, 4294794664, 4294806204, 4294806784, 4294806931, 4294811986, 4294814262, 4294821564, 4294822612, 4294826130, 4294841067, 4294842542, 4294874591, 4294881241, 4294883778, 4294885624, 4294886774, 4294891841, 4294894151, 4294894682, 4294895838, 4294895865, 4294896973, 4294911874, 4294928862, 4294930269, 4294938462, 4294942567, 4294944610 } },
    .{ .algo = .scrypt, .prefix76 = "2d21f13e27303b3ac4dada9507c823f1edf3bbc68ffe4a7470b405eeb7ec0095721928390add219572fc09e8a737a2ac12d36e533c9065e53f0ea30e4a2531c32923a12d0e17b333fbf77172", .start = 123456, .count = 65536, .target = "003fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", .found = &[_]u32{ 124359, 125824, 127220, 127809, 129384, 131021, 132493, 133573, 136165, 138591, 142386, 142849, 143231, 146134, 146153, 146937, 149076, 151838, 152776, 152800, 153389, 154989, 156406, 156711, 158867, 162007, 163801, 165321, 166032, 166461, 167313, 167867, 170758, 171055, 171104, 172498, 174270, 174692, 174738, 174815, 174915, 177018, 177838, 178075, 179259, 181105, 183374, 183559, 184321, 184488, 185502, 187103, 187637, 188410 } },
};

fn displayToLe(hex: []const u8) ![32]u8 {
    var be: [32]u8 = undefined;
    _ = try std.fmt.hexToBytes(&be, hex);
    var le: [32]u8 = undefined;
    for (0..32) |i| le[i] = be[31 - i];
    return le;
}

test "rn_hash reproduces every header's sha256d and scrypt" {
    const scratch = try std.testing.allocator.alloc(u8, @intCast(api.rn_scratch_size(1)));
    defer std.testing.allocator.free(scratch);
    for (hash_vectors) |v| {
        var header: [80]u8 = undefined;
        _ = try std.fmt.hexToBytes(&header, v.header);
        var out: [32]u8 = undefined;
        try std.testing.expectEqual(@as(i32, 0), api.rn_hash(0, &header, &out, null, 0));
        try std.testing.expectEqual(try displayToLe(v.sha256d), out);
        try std.testing.expectEqual(@as(i32, 0), api.rn_hash(1, &header, &out, scratch.ptr, scratch.len));
        try std.testing.expectEqual(try displayToLe(v.scrypt), out);
    }
}

test "rn_hash_many gives every header's digest, for counts below, at and above the lane count" {
    const scratch = try std.testing.allocator.alloc(u8, @intCast(api.rn_scratch_size(1)));
    defer std.testing.allocator.free(scratch);
    const max = hash_vectors.len;
    var headers: [max * 80]u8 = undefined;
    for (hash_vectors, 0..) |v, i| _ = try std.fmt.hexToBytes(headers[i * 80 ..][0..80], v.header);
    var out: [max * 32]u8 = undefined;
    for ([_]usize{ 0, 1, 3, max }) |n| {
        for (0..2) |algo| {
            @memset(&out, 0xAA);
            try std.testing.expectEqual(@as(i32, 0), api.rn_hash_many(@intCast(algo), &headers, @intCast(n), &out, scratch.ptr, scratch.len));
            for (0..n) |i| {
                const v = hash_vectors[i];
                try std.testing.expectEqual(try displayToLe(if (algo == 0) v.sha256d else v.scrypt), out[i * 32 ..][0..32].*);
            }
            // Nothing written past the n-th digest.
            for (n * 32..out.len) |k| try std.testing.expectEqual(@as(u8, 0xAA), out[k]);
        }
    }
}

test "rn_scan reproduces every found list, including the scan ending at nonce 0xFFFFFFFF" {
    const scratch = try std.testing.allocator.alloc(u8, @intCast(api.rn_scratch_size(1)));
    defer std.testing.allocator.free(scratch);
    for (scan_vectors) |v| {
        var header = [_]u8{0} ** 80;
        _ = try std.fmt.hexToBytes(header[0..76], v.prefix76);
        const target = try displayToLe(v.target);
        for ([_]u32{ 0, 1 }) |impl| {
            if (api.rn_impls(@intFromEnum(v.algo)) & (@as(u32, 1) << @intCast(impl)) == 0) continue;
            var out: [128]u32 = undefined;
            const n = api.rn_scan(@intFromEnum(v.algo), impl, &header, v.start, v.count, &target, &out, out.len, scratch.ptr, scratch.len);
            try std.testing.expectEqual(@as(i64, @intCast(v.found.len)), n);
            try std.testing.expectEqualSlices(u32, v.found, out[0..v.found.len]);
        }
    }
}

test "errors are codes, not crashes" {
    var header = [_]u8{0} ** 80;
    var out: [32]u8 = undefined;
    try std.testing.expectEqual(@as(i32, -1), api.rn_hash(7, &header, &out, null, 0));
    try std.testing.expectEqual(@as(i32, -2), api.rn_hash(1, &header, &out, null, 0));
    try std.testing.expectEqual(@as(i64, -1), api.rn_scratch_size(9));
    const t = [_]u8{0} ** 32;
    // SHA-NI does not compute scrypt, and an unknown implementation is refused.
    try std.testing.expectEqual(@as(i64, -4), api.rn_scan(1, 1, &header, 0, 1, &t, null, 0, null, 0));
    try std.testing.expectEqual(@as(i64, -4), api.rn_scan(0, 9, &header, 0, 1, &t, null, 0, null, 0));
}
