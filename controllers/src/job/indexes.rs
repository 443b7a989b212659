//! Completion indexes of Indexed Jobs in `status.completedIndexes` form:
//! sorted, comma-separated intervals (`1,3-5,7`).

use std::collections::BTreeSet;

/// Parse `completedIndexes`, keeping only indexes below `completions`
/// (malformed parts are skipped, as upstream).
pub fn parse(s: &str, completions: i32) -> BTreeSet<i32> {
    let mut set = BTreeSet::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        let (Ok(first), Ok(last)) = (first, last) else {
            continue;
        };
        for i in first.max(0)..=last.min(completions - 1) {
            set.insert(i);
        }
    }
    set
}

/// Print a set of indexes as intervals.
pub fn format(set: &BTreeSet<i32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut iter = set.iter().copied();
    let Some(mut first) = iter.next() else {
        return String::new();
    };
    let mut last = first;
    let mut push = |a: i32, b: i32| {
        out.push(if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        })
    };
    for i in iter {
        if i == last + 1 {
            last = i;
        } else {
            push(first, last);
            first = i;
            last = i;
        }
    }
    push(first, last);
    out.join(",")
}

/// The first `n` indexes below `completions` that are neither done nor
/// being worked on.
pub fn pending(
    completions: i32,
    done: &BTreeSet<i32>,
    active: &BTreeSet<i32>,
    n: usize,
) -> Vec<i32> {
    (0..completions)
        .filter(|i| !done.contains(i) && !active.contains(i))
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let set = parse("0-2,4,6-7", 10);
        assert_eq!(
            set.iter().copied().collect::<Vec<_>>(),
            vec![0, 1, 2, 4, 6, 7]
        );
        assert_eq!(format(&set), "0-2,4,6-7");
        assert_eq!(format(&BTreeSet::from([1, 2])), "1-2");
        assert_eq!(format(&BTreeSet::from([3])), "3");
        assert_eq!(format(&BTreeSet::new()), "");
    }

    #[test]
    fn out_of_range_and_garbage_are_dropped() {
        assert_eq!(format(&parse("0-5,x,9", 3)), "0-2");
        assert_eq!(format(&parse("", 3)), "");
    }

    #[test]
    fn pending_skips_done_and_active() {
        let done = BTreeSet::from([0, 2]);
        let active = BTreeSet::from([1]);
        assert_eq!(pending(6, &done, &active, 2), vec![3, 4]);
        assert_eq!(pending(3, &done, &active, 5), Vec::<i32>::new());
    }
}
