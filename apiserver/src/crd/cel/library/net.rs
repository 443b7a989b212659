//! Kubernetes' IP and CIDR libraries: `ip`, `isIP`, `ip.isCanonical`,
//! `cidr`, `isCIDR`, and on them `family`, `isUnspecified`, `isLoopback`,
//! `isLinkLocalMulticast`, `isLinkLocalUnicast`, `isGlobalUnicast`,
//! `containsIP`, `containsCIDR`, `ip`, `masked`, `prefixLength`, `string`.
//! IPv4-mapped IPv6 addresses and zones are refused, as upstream does.

use super::{lift, no_overload};
use cel::common::types::{Type, DYN_TYPE, STRING_TYPE};
use cel::objects::Opaque;
use cel::{DeclarationError, Env, ExecutionError, Value};
use std::net::IpAddr;
use std::sync::Arc;

const IP_TYPE: &str = "net.IP";
const CIDR_TYPE: &str = "net.CIDR";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ip(IpAddr);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Opaque for Ip {
    fn runtime_type_name(&self) -> &str {
        IP_TYPE
    }
}

impl Opaque for Cidr {
    fn runtime_type_name(&self) -> &str {
        CIDR_TYPE
    }
}

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let ip = || Type::new_opaque_type(IP_TYPE);
    let cidr = || Type::new_opaque_type(CIDR_TYPE);
    env.add_overload("ip", "string_to_ip", vec![STRING_TYPE], to_ip)?;
    env.add_overload("isIP", "is_ip", vec![STRING_TYPE], is_ip)?;
    env.add_overload(
        "ip.isCanonical",
        "ip_is_canonical",
        vec![STRING_TYPE],
        is_canonical,
    )?;
    env.add_overload("string", "ip_to_string", vec![ip()], ip_string)?;
    env.add_member_overload("family", "ip_family", ip(), vec![], family)?;
    env.add_member_overload(
        "isUnspecified",
        "ip_is_unspecified",
        ip(),
        vec![],
        is_unspecified,
    )?;
    env.add_member_overload("isLoopback", "ip_is_loopback", ip(), vec![], is_loopback)?;
    env.add_member_overload(
        "isLinkLocalMulticast",
        "ip_is_link_local_multicast",
        ip(),
        vec![],
        is_link_local_multicast,
    )?;
    env.add_member_overload(
        "isLinkLocalUnicast",
        "ip_is_link_local_unicast",
        ip(),
        vec![],
        is_link_local_unicast,
    )?;
    env.add_member_overload(
        "isGlobalUnicast",
        "ip_is_global_unicast",
        ip(),
        vec![],
        is_global_unicast,
    )?;
    env.add_overload("cidr", "string_to_cidr", vec![STRING_TYPE], to_cidr)?;
    env.add_overload("isCIDR", "is_cidr", vec![STRING_TYPE], is_cidr)?;
    env.add_overload("string", "cidr_to_string", vec![cidr()], cidr_string)?;
    env.add_member_overload(
        "containsIP",
        "cidr_contains_ip",
        cidr(),
        vec![DYN_TYPE],
        contains_ip,
    )?;
    env.add_member_overload(
        "containsCIDR",
        "cidr_contains_cidr",
        cidr(),
        vec![DYN_TYPE],
        contains_cidr,
    )?;
    env.add_member_overload("ip", "cidr_ip", cidr(), vec![], cidr_ip)?;
    env.add_member_overload("masked", "cidr_masked", cidr(), vec![], masked)?;
    env.add_member_overload(
        "prefixLength",
        "cidr_prefix_length",
        cidr(),
        vec![],
        prefix_length,
    )?;
    Ok(())
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    if s.contains('%') {
        return Err("IP address with zone value is not allowed".into());
    }
    let ip: IpAddr = s
        .parse()
        .map_err(|_| format!("IP Address {s:?} parse error during conversion from string: ParseAddr({s:?}): unable to parse IP"))?;
    if let IpAddr::V6(v6) = ip {
        if v6.to_ipv4_mapped().is_some() {
            return Err(format!("IPv4-mapped IPv6 address {s:?} is not allowed"));
        }
    }
    Ok(ip)
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let err = || {
        format!("network address parse error during conversion from string: netip.ParsePrefix({s:?}): bad prefix")
    };
    let (addr, bits) = s.split_once('/').ok_or_else(err)?;
    let addr = parse_ip(addr)?;
    let bits: u8 = bits.parse().map_err(|_| err())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(err());
    }
    Ok(Cidr { addr, bits })
}

fn mask(addr: IpAddr, bits: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let m = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            IpAddr::V4((u32::from(v4) & m).into())
        }
        IpAddr::V6(v6) => {
            let m = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            IpAddr::V6((u128::from(v6) & m).into())
        }
    }
}

fn contains(c: &Cidr, ip: IpAddr) -> bool {
    c.addr.is_ipv4() == ip.is_ipv4() && mask(ip, c.bits) == mask(c.addr, c.bits)
}

fn ip_of(v: Option<&Value>, function: &str) -> Result<IpAddr, ExecutionError> {
    match v {
        Some(Value::Opaque(o)) => o
            .downcast_ref::<Ip>()
            .map(|i| i.0)
            .ok_or_else(|| no_overload(function)),
        Some(Value::String(s)) => {
            parse_ip(s).map_err(|e| ExecutionError::function_error(function, e))
        }
        _ => Err(no_overload(function)),
    }
}

fn cidr_of(v: Option<&Value>, function: &str) -> Result<Cidr, ExecutionError> {
    match v {
        Some(Value::Opaque(o)) => o
            .downcast_ref::<Cidr>()
            .copied()
            .ok_or_else(|| no_overload(function)),
        Some(Value::String(s)) => {
            parse_cidr(s).map_err(|e| ExecutionError::function_error(function, e))
        }
        _ => Err(no_overload(function)),
    }
}

fn string_arg<'a>(args: &'a [Value], function: &str) -> Result<&'a str, ExecutionError> {
    match args.first() {
        Some(Value::String(s)) => Ok(s.as_str()),
        _ => Err(no_overload(function)),
    }
}

fn text(s: String) -> Value {
    Value::String(Arc::new(s))
}

lift!(to_ip, |args| {
    let s = string_arg(&args, "ip")?;
    parse_ip(s)
        .map(|ip| Value::Opaque(Arc::new(Ip(ip))))
        .map_err(|e| ExecutionError::function_error("ip", e))
});
lift!(is_ip, |args| Ok(Value::Bool(
    parse_ip(string_arg(&args, "isIP")?).is_ok()
)));
lift!(is_canonical, |args| {
    let s = string_arg(&args, "ip.isCanonical")?;
    let ip = parse_ip(s).map_err(|e| ExecutionError::function_error("ip.isCanonical", e))?;
    Ok(Value::Bool(ip.to_string() == s))
});
lift!(ip_string, |args| Ok(text(
    ip_of(args.first(), "string")?.to_string()
)));
lift!(family, |args| Ok(Value::Int(
    if ip_of(args.first(), "family")?.is_ipv4() {
        4
    } else {
        6
    }
)));

fn unspecified(ip: IpAddr) -> bool {
    ip.is_unspecified()
}

fn loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

fn link_local_multicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => v6.segments()[0] & 0xff0f == 0xff02,
    }
}

fn link_local_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// Go's `IsGlobalUnicast`.
fn global_unicast(ip: IpAddr) -> bool {
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || link_local_unicast(ip)
        || broadcast)
}

lift!(is_unspecified, |args| Ok(Value::Bool(unspecified(ip_of(
    args.first(),
    "isUnspecified"
)?))));
lift!(is_loopback, |args| Ok(Value::Bool(loopback(ip_of(
    args.first(),
    "isLoopback"
)?))));
lift!(is_link_local_multicast, |args| Ok(Value::Bool(
    link_local_multicast(ip_of(args.first(), "isLinkLocalMulticast")?)
)));
lift!(is_link_local_unicast, |args| Ok(Value::Bool(
    link_local_unicast(ip_of(args.first(), "isLinkLocalUnicast")?)
)));
lift!(is_global_unicast, |args| Ok(Value::Bool(global_unicast(
    ip_of(args.first(), "isGlobalUnicast")?
))));

lift!(to_cidr, |args| {
    let s = string_arg(&args, "cidr")?;
    parse_cidr(s)
        .map(|c| Value::Opaque(Arc::new(c)))
        .map_err(|e| ExecutionError::function_error("cidr", e))
});
lift!(is_cidr, |args| Ok(Value::Bool(
    parse_cidr(string_arg(&args, "isCIDR")?).is_ok()
)));
lift!(cidr_string, |args| {
    let c = cidr_of(args.first(), "string")?;
    Ok(text(format!("{}/{}", c.addr, c.bits)))
});
lift!(contains_ip, |args| {
    let c = cidr_of(args.first(), "containsIP")?;
    let ip = ip_of(args.get(1), "containsIP")?;
    Ok(Value::Bool(contains(&c, ip)))
});
lift!(contains_cidr, |args| {
    let c = cidr_of(args.first(), "containsCIDR")?;
    let other = cidr_of(args.get(1), "containsCIDR")?;
    Ok(Value::Bool(
        other.bits >= c.bits && contains(&c, other.addr),
    ))
});
lift!(cidr_ip, |args| Ok(Value::Opaque(Arc::new(Ip(cidr_of(
    args.first(),
    "ip"
)?
.addr)))));
lift!(masked, |args| {
    let c = cidr_of(args.first(), "masked")?;
    Ok(Value::Opaque(Arc::new(Cidr {
        addr: mask(c.addr, c.bits),
        bits: c.bits,
    })))
});
lift!(prefix_length, |args| Ok(Value::Int(i64::from(
    cidr_of(args.first(), "prefixLength")?.bits
))));
