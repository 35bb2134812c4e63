-- Issue 28, alt text: a description of each photo for screen readers, set
-- by its owner when posting or later. NULL when none.
ALTER TABLE media ADD COLUMN alt_text text
    CONSTRAINT media_alt_text_length CHECK (char_length(alt_text) BETWEEN 1 AND 1500);
