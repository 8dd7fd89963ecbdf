"""A PostgreSQL trigger that refuses every batch of one dataset: a store that keeps failing, for real."""

REFUSE_DATASET_PG = """
CREATE FUNCTION refuse_dataset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.dataset_id = {id} THEN RAISE EXCEPTION 'batch refused by the test'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_dataset BEFORE INSERT ON batch FOR EACH ROW EXECUTE FUNCTION refuse_dataset();
"""
