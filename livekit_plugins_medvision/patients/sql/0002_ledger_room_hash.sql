-- Rooms are often named after the patient: the cost ledger keeps the room's keyed hash
-- (hash_room_name, "mvr1_...") instead of its name, and forgets the names stored before.
ALTER TABLE medvision.cost_ledger RENAME COLUMN room_name TO room_hash;
UPDATE medvision.cost_ledger SET room_hash = NULL WHERE room_hash NOT LIKE 'mvr1\_%';
