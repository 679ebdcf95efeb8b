-- Who last set each channel's destination (its base_url, its type, whose default
-- base URL applies when base_url is empty, or setting.proxy): 1 = root, 0 = an admin
-- below root. The relay allows loopback and private addresses only to channels whose
-- destination root set (docs/ARCHITECTURE.md "Channel destinations"). New rows get 0
-- unless the API writes 1; rows that exist when this runs predate the policy and are
-- kept working as they were (1).
ALTER TABLE `channels` ADD COLUMN IF NOT EXISTS `dest_set_by_root` INTEGER DEFAULT 0;
UPDATE `channels` SET `dest_set_by_root` = 1;
