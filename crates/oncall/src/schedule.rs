//! Schedules (config kind `Schedule`): who is on call when.
//!
//! A schedule is a stack of layers, plus overrides. Each layer is a rotation in an IANA
//! time zone (the schedule's, unless the layer names its own): its users take turns of a
//! fixed length, the first starting at the layer's `start`. Later layers win where they
//! have someone on call; overrides win over all layers. [`ScheduleSpec`] is the configured
//! data; [`Compiled`] is the parsed form that renders shifts for any range.
//!
//! # Time
//!
//! Every local time (a layer's start and end, restriction windows) is read in the layer's
//! zone and converted to an instant with jiff's bundled time-zone database and its
//! compatible disambiguation: a local time the clock skips (spring forward) moves forward
//! by the gap, one it passes twice (fall back) is the earlier. A layer in a zone of its own
//! (follow the sun) thus keeps to that zone's clock whatever the schedule's zone does.
//!
//! The k-th handoff of a layer is computed from the start, never cumulatively: the
//! rotation's days and weeks are added to the start as a *local* date-time (so a daily
//! 09:00 handoff stays at 09:00 across DST changes, making that turn 23 or 25 hours), the
//! result is converted to an instant, and the rotation's hours and minutes are then added
//! as elapsed time. This is exactly jiff's `Zoned::checked_add(Span)` applied to the
//! configured start, with one difference: when the start itself falls in a gap, later
//! handoffs keep the configured wall-clock time (02:30) rather than the time the gap moved
//! the first one to (03:30). A turn can be empty when a whole local day does not exist
//! (Pacific/Apia skipped 2011-12-30); its user is then skipped.
//!
//! Rendering jumps straight to the turn containing the start of the range (an estimate
//! from elapsed time, corrected by at most a few steps), so a range years after the start
//! costs no more than one near it. The exception is a layer with `active_time`
//! restrictions: its turns depend on all restricted time since the start, which is walked
//! from the start (a few thousand windows for ten years of weekdays).
//!
//! Architecture invariant: no I/O and no clock. Every instant arrives as an argument.
//!
//! Longer than 600 lines because rendering layers, restrictions and overrides into shifts
//! is one algorithm read best in one place (its tests are in `schedule/tests.rs`).

use domain::Name;
use domain::catalog::FieldError;
use domain::hours::Day;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

mod layer;
#[cfg(test)]
mod tests;

use layer::{LayerPlan, Piece, Rotation, Window};

/// The most overrides a schedule may hold; remove past ones to add more.
pub const MAX_OVERRIDES: usize = 1000;
/// The longest rotation, in weeks.
pub const MAX_ROTATION_WEEKS: i64 = 52;
/// How far [`Compiled::on_call_at`] looks either side of the instant it is given.
pub const AROUND: SignedDuration = SignedDuration::from_hours(8 * 7 * 24);
/// How far ahead [`Compiled::next_after`] looks.
pub const LOOKAHEAD: SignedDuration = SignedDuration::from_hours(106 * 7 * 24);

const ROTATION_FORMS: &str =
    "a rotation like 1w, 2w, 1d, 12h or 90m: weeks, days, hours and minutes, at most 52 weeks";

/// An on-call schedule: layers of rotations, each in the schedule's time zone or its own;
/// later layers win, overrides win over all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// What the schedule is for and who it pages; shown with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// IANA time zone of every local time in the schedule (handoffs, restrictions), for
    /// example `Europe/Berlin`, except in layers that name their own. Local times follow
    /// its DST changes.
    pub time_zone: String,
    /// Layers, lowest first: where a later layer has someone on call, it wins. Where it has
    /// no one (before its start, after its end, outside its restrictions), the layer below
    /// shows through.
    pub layers: Vec<Layer>,
    /// People covering for others: from `start` to `end` (RFC 3339 instants), `user` is on
    /// call instead of whoever the layers say. Where overrides overlap, the later one in
    /// the list wins. At most 1000.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

/// One rotation: its users take turns of a fixed length, the first from `start`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Shown in calendars (`primary`, `follow-the-sun-emea`).
    pub name: String,
    /// Who takes turns, in order (user names). A name may appear more than once.
    pub users: Vec<Name>,
    /// IANA time zone of this layer's local times (`start`, `end`, handoffs, restrictions),
    /// for example `Asia/Tokyo`; the schedule's `time_zone` when absent. A layer covering
    /// another office's daytime keeps to that office's clock across both zones' DST
    /// changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// How long each turn lasts: `1w`, `1d`, `12h`, `2w`, `90m` (jiff's friendly duration
    /// syntax: weeks, days, hours, minutes; at most 52 weeks). Days and weeks are calendar
    /// days in the layer's time zone, so a daily 09:00 handoff stays at 09:00 across DST
    /// changes (a 23 or 25 hour day); hours and minutes are elapsed time.
    pub rotation: String,
    /// The first handoff, local time in the layer's zone (`YYYY-MM-DDTHH:MM`, seconds
    /// optional): `users[0]` starts here. Every later handoff is this plus a whole number
    /// of turns. A start the clock skips moves forward by the gap (later handoffs keep the
    /// written time); one it passes twice is the earlier.
    pub start: String,
    /// When the layer ends, local time in the layer's zone (`YYYY-MM-DDTHH:MM`), after
    /// `start`; it covers nothing from then on. Runs on forever when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Only these times of the week are covered by this layer; outside them the layer has a
    /// gap (a lower layer may cover it). Absent: always.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<Restriction>,
    /// How restrictions interact with the rotation: `calendar` (default: turns follow the
    /// calendar; restricted time is simply not covered) or `active_time` (turns advance only
    /// during covered time, so everyone gets the same covered hours; needs restrictions).
    #[serde(default)]
    pub restriction_mode: RestrictionMode,
}

/// A time of the week a layer covers: from `start` to `end`, local time in the layer's
/// zone, on some days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    /// Days it applies to (`mon` … `sun`): the days each window starts on. Every day when
    /// absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<Day>,
    /// Local start, `HH:MM`.
    pub start: String,
    /// Local end, `HH:MM`. An end before the start runs past midnight into the next day
    /// (`22:00` to `06:00`); an end equal to the start makes a full day.
    pub end: String,
}

/// How a layer's restrictions interact with its rotation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionMode {
    /// Turns follow the calendar; restricted time is simply not covered.
    #[default]
    Calendar,
    /// Turns advance only during covered time: each turn is `rotation` worth of covered
    /// (elapsed) time, so everyone gets the same covered hours.
    ActiveTime,
}

/// Someone on call instead of the layers, for a while.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Who is on call (a user name).
    pub user: Name,
    /// When the override begins, an RFC 3339 instant (`2026-03-02T14:00:00Z`).
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// When it ends (exclusive), an RFC 3339 instant after `start`.
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

/// One stretch of time and who is on call for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shift {
    /// Who is on call.
    pub user: Name,
    /// When the shift begins (inclusive).
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// When it ends (exclusive).
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    /// Which layer (its name), or `override`.
    pub source: ShiftSource,
}

/// Where a shift comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShiftSource {
    /// A layer's rotation.
    Layer {
        /// The layer's position in `layers`, from 0.
        index: usize,
        /// The layer's name.
        name: String,
    },
    /// An override.
    Override,
}

/// A range rendered: who is on call, and when no one is. Shifts and gaps together tile the
/// range exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rendered {
    /// The shifts, sorted, never overlapping.
    pub shifts: Vec<Shift>,
    /// Times in the range nobody is on call, as start and end instants, sorted.
    #[schema(value_type = Vec<Vec<String>>)]
    pub gaps: Vec<(Timestamp, Timestamp)>,
}

/// Parses a rotation: weeks, days, hours and minutes, positive, at most 52 weeks.
fn parse_rotation(s: &str) -> Result<Rotation, String> {
    let span: Span = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not {ROTATION_FORMS}"))?;
    if span.get_years() != 0 || span.get_months() != 0 {
        return Err(format!(
            "{s:?}: months and years vary in length; use {ROTATION_FORMS}"
        ));
    }
    let below_minutes = span.get_seconds() != 0
        || span.get_milliseconds() != 0
        || span.get_microseconds() != 0
        || span.get_nanoseconds() != 0;
    if below_minutes {
        return Err(format!("{s:?}: whole minutes only; use {ROTATION_FORMS}"));
    }
    if !span.is_positive() {
        return Err(format!(
            "{s:?} must be longer than zero; use {ROTATION_FORMS}"
        ));
    }
    let rotation = Rotation {
        days: i64::from(span.get_weeks()) * 7 + i64::from(span.get_days()),
        minutes: i64::from(span.get_hours()) * 60 + span.get_minutes(),
    };
    if rotation.days * 1440 + rotation.minutes > MAX_ROTATION_WEEKS * 7 * 1440 {
        return Err(format!(
            "{s:?} is longer than 52 weeks; use {ROTATION_FORMS}"
        ));
    }
    Ok(rotation)
}

fn day_index(d: Day) -> usize {
    match d {
        Day::Mon => 0,
        Day::Tue => 1,
        Day::Wed => 2,
        Day::Thu => 3,
        Day::Fri => 4,
        Day::Sat => 5,
        Day::Sun => 6,
    }
}

const LOCAL_FORM: &str =
    "a local date and time like 2026-03-02T09:00 (YYYY-MM-DDTHH:MM, seconds optional, no offset)";

impl ScheduleSpec {
    /// Problems with the fields, paths relative to this object (`layers[0].rotation`).
    pub fn validate(&self) -> Vec<FieldError> {
        self.check().0
    }

    /// The parsed form, or every problem [`validate`](Self::validate) finds.
    pub fn compile(&self) -> Result<Compiled, Vec<FieldError>> {
        match self.check() {
            (errors, Some(compiled)) if errors.is_empty() => Ok(compiled),
            (errors, _) => Err(errors),
        }
    }

    /// Every user the schedule names, each once, in order of first mention: the layers'
    /// users, then the overrides'. For checking that they exist.
    pub fn users(&self) -> Vec<Name> {
        let mut out: Vec<Name> = Vec::new();
        let named = self.layers.iter().flat_map(|l| &l.users);
        for user in named.chain(self.overrides.iter().map(|o| &o.user)) {
            if !out.contains(user) {
                out.push(user.clone());
            }
        }
        out
    }

    /// Every problem, in field order, and the compiled form when there is none.
    fn check(&self) -> (Vec<FieldError>, Option<Compiled>) {
        let mut errors = Vec::new();
        let tz = match domain::civil::time_zone(&self.time_zone) {
            Ok(tz) => Some(tz),
            Err(why) => {
                errors.push(FieldError::new("time_zone", why));
                None
            }
        };
        if self.layers.is_empty() {
            errors.push(FieldError::new("layers", "add at least one layer"));
        }
        let plans: Vec<Option<LayerPlan>> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, layer)| check_layer(i, layer, tz.as_ref(), &mut errors))
            .collect();
        if self.overrides.len() > MAX_OVERRIDES {
            errors.push(FieldError::new(
                "overrides",
                format!(
                    "at most {MAX_OVERRIDES} overrides, not {}; remove past ones",
                    self.overrides.len()
                ),
            ));
        }
        for (i, o) in self.overrides.iter().enumerate() {
            if o.end <= o.start {
                errors.push(FieldError::new(
                    format!("overrides[{i}].end"),
                    "must be after start",
                ));
            }
        }
        let compiled = match (tz, plans.into_iter().collect::<Option<Vec<_>>>()) {
            (Some(tz), Some(layers)) if errors.is_empty() => Some(Compiled {
                tz,
                layers,
                overrides: self.overrides.clone(),
            }),
            _ => None,
        };
        (errors, compiled)
    }
}

/// Checks one layer, pushing its problems; its plan when it has none (and its zone, its
/// own or else the schedule's, is known).
fn check_layer(
    i: usize,
    layer: &Layer,
    schedule_tz: Option<&TimeZone>,
    errors: &mut Vec<FieldError>,
) -> Option<LayerPlan> {
    let before = errors.len();
    let path = |field: &str| format!("layers[{i}].{field}");
    let own_tz = match layer.time_zone.as_deref().map(domain::civil::time_zone) {
        None => None,
        Some(Ok(tz)) => Some(tz),
        Some(Err(why)) => {
            errors.push(FieldError::new(path("time_zone"), why));
            None
        }
    };
    // A layer whose own zone is wrong is not read in the schedule's instead: its local
    // times would mean other instants.
    let tz = match (&layer.time_zone, &own_tz) {
        (None, _) => schedule_tz,
        (Some(_), own) => own.as_ref(),
    };
    if layer.name.trim().is_empty() {
        errors.push(FieldError::new(path("name"), "must not be empty"));
    }
    if layer.users.is_empty() {
        errors.push(FieldError::new(path("users"), "name at least one user"));
    }
    let rotation = match parse_rotation(&layer.rotation) {
        Ok(r) => Some(r),
        Err(why) => {
            errors.push(FieldError::new(path("rotation"), why));
            None
        }
    };
    let instant = |dt: DateTime| tz.map(|tz| tz.to_timestamp(dt).ok());
    let start_civil = domain::civil::local_datetime(&layer.start);
    let mut start = None;
    match start_civil {
        None => errors.push(FieldError::new(
            path("start"),
            format!("{:?} is not {LOCAL_FORM}", layer.start),
        )),
        Some(dt) => match instant(dt) {
            Some(None) => errors.push(FieldError::new(path("start"), "is out of range")),
            Some(Some(ts)) => start = Some(ts),
            None => {}
        },
    }
    let mut end = None;
    if let Some(text) = &layer.end {
        match domain::civil::local_datetime(text) {
            None => errors.push(FieldError::new(
                path("end"),
                format!("{text:?} is not {LOCAL_FORM}"),
            )),
            Some(dt) => {
                // Compare instants when the zone is known: a start in a DST gap moves forward
                // and may pass a slightly later local end.
                let after = match (instant(dt), start, start_civil) {
                    (Some(Some(e)), Some(s), _) => {
                        end = Some(e);
                        e > s
                    }
                    (Some(None), _, _) => {
                        errors.push(FieldError::new(path("end"), "is out of range"));
                        true
                    }
                    (_, _, Some(s)) => dt > s,
                    _ => true,
                };
                if !after {
                    errors.push(FieldError::new(path("end"), "must be after start"));
                }
            }
        }
    }
    let mut windows = Vec::new();
    for (j, r) in layer.restrictions.iter().enumerate() {
        let at = |field: &str| format!("layers[{i}].restrictions[{j}].{field}");
        let start = domain::civil::clock_time(&r.start);
        let end = domain::civil::clock_time(&r.end);
        if start.is_none() {
            errors.push(FieldError::new(
                at("start"),
                format!("{:?} is not a time of day like 09:00 (HH:MM)", r.start),
            ));
        }
        if end.is_none() {
            errors.push(FieldError::new(
                at("end"),
                format!("{:?} is not a time of day like 17:00 (HH:MM)", r.end),
            ));
        }
        if let (Some(start), Some(end)) = (start, end) {
            let mut days = [r.days.is_empty(); 7];
            for d in &r.days {
                days[day_index(*d)] = true;
            }
            windows.push(Window { days, start, end });
        }
    }
    let active_time = layer.restriction_mode == RestrictionMode::ActiveTime;
    if active_time && layer.restrictions.is_empty() {
        errors.push(FieldError::new(
            path("restriction_mode"),
            "`active_time` needs restrictions: turns advance only during restricted time",
        ));
    }
    if errors.len() > before {
        return None;
    }
    Some(LayerPlan {
        name: layer.name.clone(),
        users: layer.users.clone(),
        tz: tz?.clone(),
        rotation: rotation?,
        start_civil: start_civil?,
        start: start?,
        end,
        windows,
        active_time,
    })
}

/// A schedule parsed once, ready to render. Built by [`ScheduleSpec::compile`].
#[derive(Clone, Debug)]
pub struct Compiled {
    tz: TimeZone,
    layers: Vec<LayerPlan>,
    overrides: Vec<Override>,
}

/// Where a piece of coverage comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    Layer(usize),
    /// `Piece::user` is then the override's index.
    Override,
}

/// One source's coverage in a range: sorted, not overlapping.
struct Track {
    src: Src,
    pieces: Vec<Piece>,
}

fn add(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(if d.is_negative() {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Lays tracks over each other, later tracks winning: the winner of every stretch between
/// two piece boundaries, sorted.
fn overlay(tracks: &[Track]) -> Vec<(Src, Piece)> {
    let mut bounds: Vec<Timestamp> = tracks
        .iter()
        .flat_map(|t| t.pieces.iter().flat_map(|p| [p.start, p.end]))
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut next = vec![0usize; tracks.len()];
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let (a, b) = (w[0], w[1]);
        for (t, track) in tracks.iter().enumerate().rev() {
            let i = &mut next[t];
            while track.pieces.get(*i).is_some_and(|p| p.end <= a) {
                *i += 1;
            }
            // Bounds include every piece's start and end, so a piece that starts by `a`
            // covers all of [a, b).
            if let Some(p) = track.pieces.get(*i).filter(|p| p.start <= a) {
                out.push((
                    track.src,
                    Piece {
                        start: a,
                        end: b,
                        user: p.user,
                    },
                ));
                break;
            }
        }
    }
    out
}

impl Compiled {
    /// The schedule's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// How many layers the schedule has.
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// A layer's name (`None` past the last layer).
    pub fn layer_name(&self, layer: usize) -> Option<&str> {
        self.layers.get(layer).map(|l| l.name.as_str())
    }

    /// The time zone a layer's local times are read in: its own, or the schedule's (`None`
    /// past the last layer).
    pub fn layer_time_zone(&self, layer: usize) -> Option<&TimeZone> {
        self.layers.get(layer).map(|l| &l.tz)
    }

    /// The overrides meeting [from, to), clipped to it, sorted by start (equal starts in list order). Unlike the final
    /// schedule, overrides may overlap each other here (the later one wins there).
    pub fn overrides_in(&self, from: Timestamp, to: Timestamp) -> Vec<Shift> {
        let mut out: Vec<Shift> = self
            .overrides
            .iter()
            .filter(|o| o.start < to && from < o.end)
            .map(|o| Shift {
                user: o.user.clone(),
                start: o.start.max(from),
                end: o.end.min(to),
                source: ShiftSource::Override,
            })
            .collect();
        out.sort_by_key(|s| s.start);
        out
    }

    /// The final schedule for [from, to): shifts clipped to the range, sorted, never
    /// overlapping; adjacent pieces of the same user from the same source merged; gaps
    /// listed. Shifts and gaps tile [from, to) exactly. An empty range renders nothing.
    pub fn render(&self, from: Timestamp, to: Timestamp) -> Rendered {
        if from >= to {
            return Rendered::default();
        }
        let mut tracks: Vec<Track> = (0..self.layers.len())
            .map(|i| self.layer_track(i, from, to))
            .collect();
        for (i, o) in self.overrides.iter().enumerate() {
            let (start, end) = (o.start.max(from), o.end.min(to));
            if start < end {
                tracks.push(Track {
                    src: Src::Override,
                    pieces: vec![Piece {
                        start,
                        end,
                        user: i,
                    }],
                });
            }
        }
        self.finish(overlay(&tracks), from, to)
    }

    /// Each layer on its own for the range (for calendars that show layers), same shape as
    /// [`render`](Self::render). A layer index past the last layer renders as one gap.
    pub fn render_layer(&self, layer: usize, from: Timestamp, to: Timestamp) -> Rendered {
        if from >= to {
            return Rendered::default();
        }
        let tracks = if layer < self.layers.len() {
            vec![self.layer_track(layer, from, to)]
        } else {
            Vec::new()
        };
        self.finish(overlay(&tracks), from, to)
    }

    /// Who is on call at `t`: the final shift containing `t`, whole, except that it is cut
    /// at [`AROUND`] (8 weeks) either side of `t`. None in a gap.
    pub fn on_call_at(&self, t: Timestamp) -> Option<Shift> {
        let r = self.render(add(t, -AROUND), add(t, AROUND));
        r.shifts.into_iter().find(|s| s.start <= t && t < s.end)
    }

    /// Who is on call next: the first final shift starting after `t` where someone takes
    /// over from a different user, or comes on after a gap. A shift continuing the same
    /// user from another source (an override ending into that user's own turn) is not a
    /// handover and is passed over. Looks up to [`LOOKAHEAD`] (about two years) ahead; the
    /// shift returned is whole unless it runs past that.
    pub fn next_after(&self, t: Timestamp) -> Option<Shift> {
        let mut horizon = SignedDuration::from_hours(24);
        loop {
            let to = add(t, horizon);
            let last = horizon >= LOOKAHEAD || to == Timestamp::MAX;
            let rendered = self.render(t, to);
            let mut prev: Option<&Shift> = None;
            let mut found = None;
            for s in &rendered.shifts {
                let handover = prev.is_none_or(|p| p.end != s.start || p.user != s.user);
                if s.start > t && handover {
                    found = Some(s);
                    break;
                }
                prev = Some(s);
            }
            match found {
                Some(s) if s.end < to || last => return Some(s.clone()),
                None if last => return None,
                _ => horizon = horizon.checked_mul(4).unwrap_or(LOOKAHEAD).min(LOOKAHEAD),
            }
        }
    }

    fn layer_track(&self, i: usize, from: Timestamp, to: Timestamp) -> Track {
        Track {
            src: Src::Layer(i),
            pieces: self.layers[i].pieces(from, to),
        }
    }

    /// Turns overlaid pieces into shifts (merging adjacent pieces of one user from one
    /// source) and the gaps between them.
    fn finish(&self, pieces: Vec<(Src, Piece)>, from: Timestamp, to: Timestamp) -> Rendered {
        let mut shifts: Vec<Shift> = Vec::new();
        for (src, p) in pieces {
            let (user, source) = match src {
                Src::Layer(i) => {
                    let layer = &self.layers[i];
                    (
                        &layer.users[p.user],
                        ShiftSource::Layer {
                            index: i,
                            name: layer.name.clone(),
                        },
                    )
                }
                Src::Override => (&self.overrides[p.user].user, ShiftSource::Override),
            };
            match shifts.last_mut() {
                Some(last)
                    if last.end == p.start && last.user == *user && last.source == source =>
                {
                    last.end = p.end;
                }
                _ => shifts.push(Shift {
                    user: user.clone(),
                    start: p.start,
                    end: p.end,
                    source,
                }),
            }
        }
        let mut gaps = Vec::new();
        let mut cursor = from;
        for s in &shifts {
            if s.start > cursor {
                gaps.push((cursor, s.start));
            }
            cursor = s.end;
        }
        if cursor < to {
            gaps.push((cursor, to));
        }
        Rendered { shifts, gaps }
    }
}
