//! The test vectors of SPEC-admission §1.5: `cidr_test.go` (TestCIDR), `ip_test.go`
//! (TestIP), and the cases taken from the doc comments and code of ip.go and cidr.go.

use servicecidr_cel::eval_standalone;

fn ok(expr: &str, want: &str) {
    assert_eq!(eval_standalone(expr), Ok(want.to_owned()), "{expr}");
}

fn runtime_error(expr: &str, want: &str) {
    assert_eq!(eval_standalone(expr), Err(want.to_owned()), "{expr}");
}

fn compile_error(expr: &str, want: &str) {
    match eval_standalone(expr) {
        Err(e) => assert!(
            e.starts_with("compilation failed: ERROR: <input>:") && e.contains(want),
            "{expr}: {e}"
        ),
        Ok(v) => panic!("{expr} compiled and evaluated to {v}"),
    }
}

const PARSE_PREFIX: &str = "network address parse error during conversion from string: \
                            network address parse error during conversion from string: ";

#[test]
fn cidr_vectors() {
    compile_error(
        "cidr(192168)",
        "found no matching overload for 'cidr' applied to '(int)'",
    );
    ok(r#"cidr(dyn("192.168.0.0/24"))"#, "net.CIDR 192.168.0.0/24");
    ok(r#"cidr("192.168.0.0/24")"#, "net.CIDR 192.168.0.0/24");
    runtime_error(
        r#"cidr("192.168.0.0/")"#,
        &format!(r#"{PARSE_PREFIX}netip.ParsePrefix("192.168.0.0/"): bad bits after slash: """#),
    );
    for (expr, want) in [
        (
            r#"cidr("192.168.0.0/24").containsIP(ip("192.168.0.1"))"#,
            "true",
        ),
        (
            r#"cidr("192.168.0.0/24").containsIP(ip("192.168.1.1"))"#,
            "false",
        ),
        (
            r#"cidr("192.168.0.0/24").containsIP("192.168.0.1")"#,
            "true",
        ),
        (
            r#"cidr("192.168.0.0/24").containsIP("192.168.1.1")"#,
            "false",
        ),
        (
            r#"cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.0/25"))"#,
            "true",
        ),
        (
            r#"cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.0/23"))"#,
            "false",
        ),
        (
            r#"cidr("192.168.0.0/24").containsCIDR("192.168.0.0/25")"#,
            "true",
        ),
        (
            r#"cidr("192.168.0.0/24").containsCIDR("192.168.0.0/23")"#,
            "false",
        ),
        (r#"cidr("192.168.0.0/24").ip()"#, "net.IP 192.168.0.0"),
        (
            r#"cidr("192.168.0.0/24").ip() == ip("192.168.0.0")"#,
            "true",
        ),
        (
            r#"cidr("192.168.0.0/24").masked()"#,
            "net.CIDR 192.168.0.0/24",
        ),
        (
            r#"cidr("192.168.0.1/24").masked()"#,
            "net.CIDR 192.168.0.0/24",
        ),
        (r#"cidr("192.168.0.0/24").prefixLength()"#, "24"),
        (r#"cidr("2001:db8::/32")"#, "net.CIDR 2001:db8::/32"),
        (
            r#"cidr("2001:db8::/32").containsIP(ip("2001:db8::1"))"#,
            "true",
        ),
        (
            r#"cidr("2001:db8::/32").containsIP(ip("2001:dc8::1"))"#,
            "false",
        ),
        (r#"cidr("2001:db8::/32").containsIP("2001:db8::1")"#, "true"),
        (
            r#"cidr("2001:db8::/32").containsIP("2001:dc8::1")"#,
            "false",
        ),
        (
            r#"cidr("2001:db8::/32").containsCIDR(cidr("2001:db8::/33"))"#,
            "true",
        ),
        (
            r#"cidr("2001:db8::/32").containsCIDR(cidr("2001:db8::/31"))"#,
            "false",
        ),
        (
            r#"cidr("2001:db8::/32").containsCIDR("2001:db8::/33")"#,
            "true",
        ),
        (
            r#"cidr("2001:db8::/32").containsCIDR("2001:db8::/31")"#,
            "false",
        ),
        (r#"cidr("2001:db8::/32").ip()"#, "net.IP 2001:db8::"),
        (
            r#"cidr("2001:db8::/32").masked()"#,
            "net.CIDR 2001:db8::/32",
        ),
        (
            r#"cidr("2001:db8:1::/32").masked()"#,
            "net.CIDR 2001:db8::/32",
        ),
        (r#"cidr("2001:db8::/32").prefixLength()"#, "32"),
        (r#"string(cidr("192.168.0.0/24"))"#, r#""192.168.0.0/24""#),
        (r#"type(cidr("192.168.0.0/24")) == net.CIDR"#, "true"),
    ] {
        ok(expr, want);
    }
    runtime_error(
        r#"cidr("2001:db8::/")"#,
        &format!(r#"{PARSE_PREFIX}netip.ParsePrefix("2001:db8::/"): bad bits after slash: """#),
    );
}

#[test]
fn ip_vectors() {
    ok(r#"ip("192.168.0.1")"#, "net.IP 192.168.0.1");
    runtime_error(
        r#"ip("192.168.0.1.0")"#,
        r#"IP Address "192.168.0.1.0" parse error during conversion from string: ParseAddr("192.168.0.1.0"): IPv4 address too long"#,
    );
    runtime_error(
        r#"ip.isCanonical("127.0.0.1.0")"#,
        r#"IP Address "127.0.0.1.0" parse error during conversion from string: ParseAddr("127.0.0.1.0"): IPv4 address too long"#,
    );
    ok(r#"ip("2001:db8::68")"#, "net.IP 2001:db8::68");
    runtime_error(
        r#"ip("2001:db8:::68")"#,
        r#"IP Address "2001:db8:::68" parse error during conversion from string: ParseAddr("2001:db8:::68"): each colon-separated field must have at least one digit (at ":68")"#,
    );
    for (expr, want) in [
        (r#"isIP("192.168.0.1")"#, "true"),
        (r#"isIP("192.168.0.1.0")"#, "false"),
        (r#"ip.isCanonical("127.0.0.1")"#, "true"),
        (r#"ip("192.168.0.1").family()"#, "4"),
        (r#"ip("0.0.0.0").isUnspecified()"#, "true"),
        (r#"ip("127.0.0.1").isUnspecified()"#, "false"),
        (r#"ip("127.0.0.1").isLoopback()"#, "true"),
        (r#"ip("1.2.3.4").isLoopback()"#, "false"),
        (r#"ip("224.0.0.1").isLinkLocalMulticast()"#, "true"),
        (r#"ip("224.0.1.1").isLinkLocalMulticast()"#, "false"),
        (r#"ip("169.254.169.254").isLinkLocalUnicast()"#, "true"),
        (r#"ip("192.168.0.1").isLinkLocalUnicast()"#, "false"),
        (r#"ip("192.168.0.1").isGlobalUnicast()"#, "true"),
        (r#"ip("255.255.255.255").isGlobalUnicast()"#, "false"),
        (r#"isIP("2001:db8::68")"#, "true"),
        (r#"isIP("2001:db8:::68")"#, "false"),
        (r#"ip.isCanonical("2001:db8::68")"#, "true"),
        (r#"ip.isCanonical("2001:DB8::68")"#, "false"),
        (r#"ip("2001:db8::68").family()"#, "6"),
        (r#"ip("::").isUnspecified()"#, "true"),
        (r#"ip("::1").isUnspecified()"#, "false"),
        (r#"ip("::1").isLoopback()"#, "true"),
        (r#"ip("2001:db8::abcd").isLoopback()"#, "false"),
        (r#"ip("ff02::1").isLinkLocalMulticast()"#, "true"),
        (r#"ip("ff12::1").isLinkLocalMulticast()"#, "true"),
        (r#"ip("fd80::1").isLinkLocalMulticast()"#, "false"),
        (r#"ip("fe80::1").isLinkLocalUnicast()"#, "true"),
        (r#"ip("fd80::1").isLinkLocalUnicast()"#, "false"),
        (r#"ip("2001:db8::abcd").isGlobalUnicast()"#, "true"),
        (r#"ip("ff00::1").isGlobalUnicast()"#, "false"),
        (r#"ip("10.0.0.1").isGlobalUnicast()"#, "true"),
        (r#"ip("fd00::1").isGlobalUnicast()"#, "true"),
        (r#"string(ip("192.168.0.1"))"#, r#""192.168.0.1""#),
        (r#"string(ip("2001:DB8::1"))"#, r#""2001:db8::1""#),
        (r#"type(ip("192.168.0.1")) == net.IP"#, "true"),
        (r#"ip("2001:DB8::1") == ip("2001:db8::1")"#, "true"),
    ] {
        ok(expr, want);
    }
    compile_error(
        r#"isIP(cidr("192.168.0.0/24"))"#,
        "found no matching overload for 'isIP' applied to '(net.CIDR)'",
    );
}

#[test]
fn doc_comment_and_code_vectors() {
    for (expr, want) in [
        (r#"ip.isCanonical("2001:db8::0:0:0:abcd")"#, "false"),
        (r#"isIP("::ffff:1.2.3.4")"#, "false"),
        (r#"isIP("fe80::1%eth0")"#, "false"),
        (r#"isIP("127.0.0.01")"#, "false"),
        (r#"isCIDR("::ffff:1.2.3.0/120")"#, "false"),
        (r#"isCIDR("192.168.0.1/16")"#, "true"),
        (r#"isCIDR("192.168.0.0/33")"#, "false"),
        (r#"isCIDR("::1/129")"#, "false"),
        (r#"isCIDR("192.168.0.0")"#, "false"),
        (
            r#"cidr("192.168.0.1/24") == cidr("192.168.0.1/24").masked()"#,
            "false",
        ),
        (r#"string(cidr("192.168.0.1/24"))"#, r#""192.168.0.1/24""#),
        (
            r#"cidr("192.168.0.1/24").ip() == ip("192.168.0.1")"#,
            "true",
        ),
        (
            r#"cidr("192.168.0.0/16").containsCIDR("192.168.10.0/24")"#,
            "true",
        ),
        (
            r#"cidr("192.168.0.0/16").containsCIDR("192.168.0.1/32")"#,
            "true",
        ),
        (
            r#"cidr("10.96.0.0/16").containsCIDR("10.96.1.0/24")"#,
            "true",
        ),
        (r#"cidr("::/0").containsCIDR("10.0.0.0/8")"#, "false"),
        (r#"cidr("0.0.0.0/0").containsIP("::1")"#, "false"),
        (
            r#"cidr("192.168.0.1/24").containsIP("192.168.0.200")"#,
            "true",
        ),
    ] {
        ok(expr, want);
    }
    runtime_error(
        r#"ip("::ffff:1.2.3.4")"#,
        r#"IPv4-mapped IPv6 address "::ffff:1.2.3.4" is not allowed"#,
    );
    runtime_error(
        r#"ip("fe80::1%eth0")"#,
        r#"IP address "fe80::1%eth0" with zone value is not allowed"#,
    );
    runtime_error(
        r#"cidr("::ffff:1.2.3.0/120")"#,
        r#"network address parse error during conversion from string: IPv4-mapped IPv6 address "::ffff:1.2.3.0/120" is not allowed"#,
    );
    runtime_error(
        r#"cidr("10.0.0.0/8").containsIP("::ffff:10.0.0.1")"#,
        "no such overload",
    );
    runtime_error(
        r#"cidr("10.0.0.0/8").containsCIDR("10.0.0.0/")"#,
        &format!(r#"{PARSE_PREFIX}netip.ParsePrefix("10.0.0.0/"): bad bits after slash: """#),
    );
}

#[test]
fn the_doc_policy_expression() {
    let expr = |cidrs: &str| {
        format!(
            "{cidrs}.all(newCIDR, ['10.96.0.0/16','2001:db8::/64'].exists(allowedCIDR, \
             cidr(allowedCIDR).containsCIDR(newCIDR)))"
        )
    };
    ok(&expr("['10.96.1.0/24']"), "true");
    ok(&expr("['2001:db8:0:0:ffff::/80', '10.96.0.0/20']"), "true");
    ok(&expr("['172.20.0.0/16']"), "false");
    ok(&expr("['10.96.0.0/15']"), "false");
    ok(&expr("['2001:db8::/63']"), "false");
}
