-- Who last set each channel's destination (its base_url, its type, whose default base
-- URL applies when base_url is empty, or setting.proxy): set_by_root 1 = root, 0 = an
-- admin below root. The relay allows loopback and private addresses only to channels
-- whose destination root set (docs/ARCHITECTURE.md "Channel destinations"). A table of
-- ours beside new-api's channels, whose columns stay exactly new-api's. A channel with
-- no row counts as 0 (one written by another program); the channels that exist when
-- this runs predate the policy and are kept working as they were (1).
CREATE TABLE IF NOT EXISTS `channel_destinations` (
  `channel_id` INTEGER NOT NULL,
  `set_by_root` INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (`channel_id`)
);
INSERT INTO `channel_destinations` (`channel_id`, `set_by_root`) SELECT `id`, 1 FROM `channels`;
