//! Cron schedules as CronJobs accept them (robfig/cron v3 `ParseStandard`):
//! five fields or a descriptor, with the parser's error messages. The parser
//! is the CronJob controller's, so what validation accepts is what fires.

/// Parse a schedule; the error is the parser's message.
pub fn parse_standard(spec: &str) -> Result<(), String> {
    controllers::CronSchedule::parse(spec, jiff::tz::TimeZone::UTC).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::parse_standard;

    #[test]
    fn accepts_common_schedules() {
        for s in [
            "*/5 * * * *",
            "0 0 * * SUN",
            "0 3 1-15/2 JAN-jun mon,wed",
            "@hourly",
            "@every 1h30m",
            "CRON_TZ=UTC 0 * * * *",
            "0 0 ? * *",
        ] {
            assert_eq!(parse_standard(s), Ok(()), "{s}");
        }
    }

    #[test]
    fn rejects_with_parser_messages() {
        assert_eq!(
            parse_standard("* * *"),
            Err("expected exactly 5 fields, found 3: [* * *]".into())
        );
        assert_eq!(
            parse_standard("60 * * * *"),
            Err("end of range (60) above maximum (59): 60".into())
        );
        assert_eq!(
            parse_standard("x * * * *"),
            Err("failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax".into())
        );
        assert_eq!(
            parse_standard("@often"),
            Err("unrecognized descriptor: @often".into())
        );
        assert_eq!(
            parse_standard("5-1 * * * *"),
            Err("beginning of range (5) beyond end of range (1): 5-1".into())
        );
        assert_eq!(
            parse_standard("*/0 * * * *"),
            Err("step of range should be a positive number: */0".into())
        );
        assert_eq!(parse_standard(""), Err("empty spec string".into()));
    }
}
