//! Parser: the token stream into a tree of statements and blocks.
//!
//! A statement is a keyword and the values on the same line. A `{` on the same line, or alone
//! at the start of the next line, opens the statement's block; `}` closes it, and words after
//! a brace on the same line start a new statement (so `group { VI_1 VI_2 }` and `} else`
//! styles work).

use super::diag::{Diags, Span};
use super::lexer::{Tok, Token};

/// A word with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    /// The text (quotes removed).
    pub text: String,
    /// Where it starts.
    pub span: Span,
}

/// A `{ ... }` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    /// Where the `{` is.
    pub open: Span,
    /// The statements inside, in order.
    pub items: Vec<Node>,
}

/// One statement: a keyword, its values, and an optional block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    /// The first word.
    pub key: Word,
    /// The other words on the line.
    pub args: Vec<Word>,
    /// The block, if a `{` followed.
    pub block: Option<Block>,
}

impl Node {
    /// The block's statements, or none.
    pub fn items(&self) -> &[Node] {
        self.block.as_ref().map_or(&[], |b| b.items.as_slice())
    }
}

/// Deepest block nesting kept; deeper blocks are reported and skipped, so a hostile file
/// cannot build a tree whose recursive drop overflows the stack.
const MAX_DEPTH: usize = 64;

struct Level {
    items: Vec<Node>,
    open: Span,
}

/// Builds the statement tree; unbalanced braces are reported and repaired.
pub(crate) fn parse(tokens: Vec<Token>, diags: &mut Diags) -> Vec<Node> {
    let mut stack: Vec<Level> = vec![Level {
        items: Vec::new(),
        open: Span::default(),
    }];
    // Whether the last statement of the current level may still take words (same line, no
    // brace since).
    let mut open_stmt = false;
    let mut last: Option<(u32, u32)> = None;
    // Braces opened beyond MAX_DEPTH, still to be closed (their content is skipped).
    let mut skipped: usize = 0;
    for tok in tokens {
        let here = (tok.span.file, tok.span.line);
        let new_line = last != Some(here);
        last = Some(here);
        if skipped > 0 {
            match tok.tok {
                Tok::Open => skipped += 1,
                Tok::Close => skipped -= 1,
                Tok::Word { .. } => {}
            }
            continue;
        }
        if tok.tok == Tok::Open && stack.len() > MAX_DEPTH {
            diags.error(
                tok.span,
                format!("blocks nested deeper than {MAX_DEPTH}; the rest of this block is skipped"),
            );
            skipped = 1;
            continue;
        }
        let Some(level) = stack.last_mut() else {
            break;
        };
        match tok.tok {
            Tok::Word { text, .. } => {
                let word = Word {
                    text,
                    span: tok.span,
                };
                match level.items.last_mut() {
                    Some(node) if open_stmt && !new_line => node.args.push(word),
                    _ => {
                        level.items.push(Node {
                            key: word,
                            args: Vec::new(),
                            block: None,
                        });
                        open_stmt = true;
                    }
                }
            }
            Tok::Open => {
                // `{` belongs to the statement on this line, or, alone on a new line, to the
                // statement just before if it has no block yet.
                let owner_ok = match level.items.last() {
                    Some(node) => node.block.is_none() && (open_stmt || new_line),
                    None => false,
                };
                if !owner_ok {
                    diags.error(tok.span, "`{` without a keyword before it");
                }
                stack.push(Level {
                    items: Vec::new(),
                    open: tok.span,
                });
                // Remember whether this block has an owner by pushing a placeholder owner
                // when it has none, so the closing brace still balances.
                if !owner_ok {
                    if let Some(parent) = stack.iter_mut().rev().nth(1) {
                        parent.items.push(Node {
                            key: Word {
                                text: String::new(),
                                span: tok.span,
                            },
                            args: Vec::new(),
                            block: None,
                        });
                    }
                }
                open_stmt = false;
            }
            Tok::Close => {
                open_stmt = false;
                if stack.len() <= 1 {
                    diags.error(tok.span, "`}` without a matching `{`");
                    continue;
                }
                close_level(&mut stack);
            }
        }
    }
    // Close whatever is still open, reporting each unclosed block at its keyword.
    while stack.len() > 1 {
        if let Some(level) = stack.last() {
            let owner = stack
                .iter()
                .rev()
                .nth(1)
                .and_then(|p| p.items.last())
                .map(|n| (n.key.text.clone(), n.key.span));
            match owner {
                Some((name, span)) if !name.is_empty() => {
                    diags.error(
                        span,
                        format!("block `{name}` is never closed (missing `}}`)"),
                    );
                }
                _ => diags.error(level.open, "`{` is never closed (missing `}`)"),
            }
        }
        close_level(&mut stack);
    }
    stack.pop().map(|l| l.items).unwrap_or_default()
}

/// Pops the innermost level and hangs it on its owner statement.
fn close_level(stack: &mut Vec<Level>) {
    let Some(level) = stack.pop() else {
        return;
    };
    if let Some(owner) = stack.last_mut().and_then(|p| p.items.last_mut()) {
        owner.block = Some(Block {
            open: level.open,
            items: level.items,
        });
    }
}
